-- Finds the customer an identity belongs to, or gives it to a candidate
-- customer when it belongs to no one yet. Atomic, so two concurrent first
-- events of the same identity end up on one customer.
--
-- KEYS[1] identity key   ARGV[1] candidate customer id
-- Returns the customer id the identity belongs to.
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
