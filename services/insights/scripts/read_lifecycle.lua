-- Reads what the insights of one customer are computed from: when it was
-- first seen (or, with no event yet, created) and on which channel, its
-- purchase days, the version of them (pv, counted by the ingest script) and
-- its recorded lifecycle history.
--
-- KEYS[1] view hash
-- Returns {'moved', customer} when the customer was merged into another
-- ('-': is being erased), {'missing'} when there is no such customer, else
-- {'ok', first (us), first channel, pv, lifecycle history, created (us),
-- day, purchases, day, purchases, ...} (absent fields false), a day's
-- purchases as the view holds them: "<events>;<currency>=<micros>;...".

local hash = redis.call('HGETALL', KEYS[1])
if #hash == 0 then return {'missing'} end
local reply = {'ok', false, false, false, false, false}
local slots = {first = 2, fch = 3, pv = 4, lh = 5, created = 6}
for i = 1, #hash, 2 do
  local field, value = hash[i], hash[i + 1]
  if field == 'alias' then return {'moved', value} end
  local slot = slots[field]
  if slot then
    reply[slot] = value
  elseif string.sub(field, 1, 2) == 'p:' then
    reply[#reply + 1] = string.sub(field, 3)
    reply[#reply + 1] = value
  end
end
return reply
