-- One step of a merge: gives the survivor the merged-away customer's
-- identities, merge log and aliases, and writes this merge to the survivor's
-- merge log. Idempotent.
--
-- KEYS[1] view hash   KEYS[2] merge log hash   KEYS[3] alias set
-- ARGV[1] now (us)       ARGV[2] the merged-away customer id
-- ARGV[3] this merge's merge-log field   ARGV[4] its record
-- ARGV[5] n, the number of identities, then the n identities,
-- then m, then m merge-log field/record pairs, then the merged-away
-- customer's own aliases.
--
-- Returns {'moved', customer} as absorb_events does, else {'ok'}.

local alias = redis.call('HGET', KEYS[1], 'alias')
if alias then return {'moved', alias} end
local i = 5
local n = tonumber(ARGV[i])
if n > 0 then
  local fields = {}
  for j = i + 1, i + n do
    fields[#fields + 1] = 'i:' .. ARGV[j]
    fields[#fields + 1] = '1'
  end
  redis.call('HSET', KEYS[1], unpack(fields))
end
i = i + n + 1
local m = tonumber(ARGV[i])
for j = i + 1, i + 2 * m, 2 do
  redis.call('HSETNX', KEYS[2], ARGV[j], ARGV[j + 1])
end
i = i + 2 * m + 1
redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[2])
if i <= #ARGV then redis.call('SADD', KEYS[3], unpack(ARGV, i, #ARGV)) end
redis.call('HSETNX', KEYS[1], 'created', ARGV[1])
return {'ok'}
