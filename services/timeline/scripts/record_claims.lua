-- Records, on the customer's side, identities about to be claimed for it
-- (SET NX on their keys, the next round trip), so that an erasure finds every
-- identity key that may name the customer even when the process dies before
-- the ingest script attaches them to the view. An identity key lives in a
-- Redis Cluster slot of its own, so the record cannot be written in the same
-- script as the claim; it is written first instead.
--
-- KEYS[1] view hash   KEYS[2] claims set
-- ARGV[1] how long (ms) the record lives while the customer has no view yet
--         (a new customer whose first event may never be stored)
-- ARGV[2..] identities ("kind:value")
--
-- Returns {'ok'}, or {'moved', customer} when the customer was merged into
-- another ('-': is being erased) and nothing was recorded.

local alias = redis.call('HGET', KEYS[1], 'alias')
if alias then return {'moved', alias} end
local members = {}
for i = 2, #ARGV do members[#members + 1] = ARGV[i] end
redis.call('SADD', KEYS[2], unpack(members))
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return {'ok'}
