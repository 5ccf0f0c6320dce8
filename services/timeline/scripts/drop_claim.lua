-- Takes an identity off a customer that held it only by an unverified claim,
-- after a verified event naming it took its key away (see
-- ingest_operation.h). Leaves it where the customer holds it verified by now.
--
-- KEYS[1] view hash
-- ARGV[1] identity ("kind:value")
--
-- Returns 1 when it was dropped, else 0.

local field = 'i:' .. ARGV[1]
if redis.call('HGET', KEYS[1], field) ~= 'u' then return 0 end
return redis.call('HDEL', KEYS[1], field)
