-- One step of a merge: gives the survivor the merged-away customer's
-- identities, merge log and aliases, and writes this merge to the survivor's
-- merge log. Idempotent.
--
-- The per-kind identity limits are enforced here, where the identities are
-- written: the merge was allowed on snapshots of both customers, and either
-- may have taken an identity since (concurrent ingests, links, merges).
-- Identities that would break a limit stay off the survivor, as they would
-- had this merge come first and the other write second; the caller lets go
-- of them.
--
-- KEYS[1] view hash   KEYS[2] merge log hash   KEYS[3] alias set
-- ARGV[1] now (us)       ARGV[2] the merged-away customer id
-- ARGV[3] this merge's merge-log field   ARGV[4] its record
-- ARGV[5] per-kind identity limits, "kind=n,..."
-- ARGV[6] n, the number of identities, then the n identities,
-- then m, then m merge-log field/record pairs, then u, then the u of the n
-- identities the merged-away customer held only by a claim (they stay
-- claims), then the merged-away customer's own aliases.
--
-- Returns {'moved', customer} as absorb_events does, else {'ok', identities
-- the limits kept off the survivor...}.

local k = {view = KEYS[1]}
local alias = moved_to(KEYS[1])
if alias then return {'moved', alias} end
-- Keys of the wrong type fail here, before the first write.
redis.call('HLEN', KEYS[2])
redis.call('SCARD', KEYS[3])
local i = 6
local n = tonumber(ARGV[i])
local members = {}
for j = i + 1, i + n do members[#members + 1] = ARGV[j] end
i = i + n + 1
local m = tonumber(ARGV[i])
local u = tonumber(ARGV[i + 2 * m + 1])
local claims = {}
for j = i + 2 * m + 2, i + 2 * m + 1 + u do claims[ARGV[j]] = true end
local refused = attach(k, members, ARGV[5], claims, false)
for j = i + 1, i + 2 * m, 2 do
  redis.call('HSETNX', KEYS[2], ARGV[j], ARGV[j + 1])
end
i = i + 2 * m + 2 + u
redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[2])
if i <= #ARGV then redis.call('SADD', KEYS[3], unpack(ARGV, i, #ARGV)) end
redis.call('HSETNX', KEYS[1], 'created', ARGV[1])
local reply = {'ok'}
for _, member in ipairs(refused) do reply[#reply + 1] = member end
return reply
