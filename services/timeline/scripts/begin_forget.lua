-- The first write of an erasure: marks the customer as being erased, so no
-- write lands on it any more (ingests resolve afresh instead).
--
-- KEYS[1] alias   KEYS[2] view hash
-- Returns {'marked'} (also when an erasure was already under way: it is
-- resumed), {'moved', customer} when it was merged into another, or
-- {'missing'}.

local alias = redis.call('GET', KEYS[1])
if alias == '-' then return {'marked'} end
if alias then return {'moved', alias} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
redis.call('SET', KEYS[1], '-')
return {'marked'}
