-- Replaces a customer's counted basket, only if it is still the one read
-- (compare-and-set: of two refreshes of one customer, one counts the
-- change) and the customer is still there (a merged-away or erased
-- customer's basket has been, or will be, taken by whoever handles that).
--
-- KEYS[1] view hash, KEYS[2] basket. ARGV[1] the basket read ("" none),
-- ARGV[2] the new basket ("" none).
-- Returns "ok", "changed" or "gone".
if redis.call('HEXISTS', KEYS[1], 'alias') == 1 or
    redis.call('EXISTS', KEYS[1]) == 0 then
  return 'gone'
end
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 'changed' end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2])
end
return 'ok'
