-- Where a customer id stands: live, merged into another, being erased, or
-- unknown.
--
-- KEYS[1] alias   KEYS[2] view hash
-- Returns {'moved', customer} ('-': being erased), {'live'} or {'missing'}.

local alias = redis.call('GET', KEYS[1])
if alias then return {'moved', alias} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
return {'live'}
