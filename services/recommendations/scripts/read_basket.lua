-- What cross-selling needs of one customer, in one consistent snapshot:
-- whether it is gone (its view's "alias": the survivor, or "-" when being
-- erased; "missing" when there is no view), its counted basket, the
-- customers merged into it, and its purchases (the stored values of its
-- events of kind PURCHASE, 30; see stored_event.h for the header).
--
-- KEYS[1] view hash, KEYS[2] events hash, KEYS[3] basket, KEYS[4] aliases.
-- Returns {state, basket or "", {aliases...}, {purchase values...}}.
local alias = redis.call('HGET', KEYS[1], 'alias')
if alias then return {alias, '', {}, {}} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', {}, {}} end
local basket = redis.call('GET', KEYS[3]) or ''
local aliases = redis.call('SMEMBERS', KEYS[4])
local purchases = {}
local events = redis.call('HVALS', KEYS[2])
for i = 1, #events do
  if string.match(events[i], '^[^|]*|[^|]*|[^|]*|30|') then
    purchases[#purchases + 1] = events[i]
  end
end
return {'live', basket, aliases, purchases}
