-- Frees an identity key for an erasure: deletes it when it names the erased
-- customer or one merged into it.
--
-- KEYS[1] identity key
-- ARGV[1] '0', or how long (ms) to fence a key that does not exist: the
--         identity was recorded as being claimed for the customer, and the
--         claim (SET NX) may still be under way. The fence names the erased
--         customer, so that claim fails, and an ingest that meets the fence
--         frees it and resolves afresh; it expires with the erasure mark.
-- ARGV[2..] the customer ids it may name
-- Returns 1 when deleted, 2 when fenced, 0 when it names someone else.

local owner = redis.call('GET', KEYS[1])
if not owner then
  if ARGV[1] == '0' then return 0 end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
  return 2
end
for i = 2, #ARGV do
  if owner == ARGV[i] then
    redis.call('DEL', KEYS[1])
    return 1
  end
end
return 0
