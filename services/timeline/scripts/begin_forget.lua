-- The first write of an erasure: marks the customer as being erased, so no
-- write lands on it any more (ingests resolve afresh instead).
--
-- KEYS[1] view hash   KEYS[2] claims set
-- Returns {'marked'} (also when an erasure was already under way: it is
-- resumed), {'moved', customer} when it was merged into another, or
-- {'missing'}. A customer with no view but identities recorded as claimed
-- for it (its first event never got stored) is marked too, so they are
-- freed.

local alias = redis.call('HGET', KEYS[1], 'alias')
if alias == '-' then return {'marked'} end
if alias then return {'moved', alias} end
if redis.call('EXISTS', KEYS[1], KEYS[2]) == 0 then return {'missing'} end
redis.call('HSET', KEYS[1], 'alias', '-')
return {'marked'}
