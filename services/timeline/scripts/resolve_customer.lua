-- Where a customer id stands: live, merged into another, being erased, or
-- unknown.
--
-- KEYS[1] view hash
-- Returns {'moved', customer} ('-': being erased), {'live'} or {'missing'}.

local alias = redis.call('HGET', KEYS[1], 'alias')
if alias then return {'moved', alias} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
return {'live'}
