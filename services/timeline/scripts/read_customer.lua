-- Reads a customer's single view, identities, aliases and most recent event
-- as one consistent snapshot.
--
-- KEYS[1] view hash   KEYS[2] identity set   KEYS[3] events hash
-- KEYS[4] alias set   KEYS[5] alias
-- Returns {'moved', customer} when the customer was merged into another (or
-- '-': is being erased), {'missing'} when it does not exist, else
-- {'ok', view fields and values (flat), identities, aliases, most recent
-- stored event or false}.

local alias = redis.call('GET', KEYS[5])
if alias then return {'moved', alias} end
local view = redis.call('HGETALL', KEYS[1])
if #view == 0 then return {'missing'} end
local recent = false
for i = 1, #view, 2 do
  if view[i] == 'recent_id' then
    recent = redis.call('HGET', KEYS[3], view[i + 1])
  end
end
return {'ok', view, redis.call('SMEMBERS', KEYS[2]),
        redis.call('SMEMBERS', KEYS[4]), recent}
