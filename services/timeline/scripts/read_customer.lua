-- Reads a customer's single view, identities, aliases and most recent event
-- as one consistent snapshot.
--
-- KEYS[1] view hash   KEYS[2] events hash   KEYS[3] alias set
-- Returns {'moved', customer} when the customer was merged into another (or
-- '-': is being erased), {'missing'} when it does not exist, else
-- {'ok', view fields and values (flat), identities, aliases, most recent
-- stored event or false}.

local hash = redis.call('HGETALL', KEYS[1])
if #hash == 0 then return {'missing'} end
local view, identities = {}, {}
local recent_id = false
for i = 1, #hash, 2 do
  local field, value = hash[i], hash[i + 1]
  if field == 'alias' then return {'moved', value} end
  local identity = string.match(field, '^i:(.*)$')
  if identity then
    identities[#identities + 1] = identity
  elseif string.sub(field, 1, 2) == 'p:' or field == 'lh' then
    -- Purchase days and lifecycle: the insights' own, read by their scripts.
  else
    view[#view + 1] = field
    view[#view + 1] = value
    if field == 'recent_id' then recent_id = value end
  end
end
local recent = false
if recent_id then recent = redis.call('HGET', KEYS[2], recent_id) end
return {'ok', view, identities, redis.call('SMEMBERS', KEYS[3]), recent}
