-- Applies one item's count changes (see CountChanges): the number of
-- customers who bought it, in its shard's hash, and with each other item,
-- in the item's own sorted set of partners, scored by that number (so a
-- query reads only the partners with the most customers in common,
-- ZREVRANGE). Bounded: an item not yet counted is taken in only while its
-- shard holds fewer than ARGV[3] items (else it is left uncounted, with its
-- pairs); a pair not yet counted only while the item has fewer than ARGV[4]
-- partners. Counts that reach 0 are removed, which makes room again.
--
-- KEYS[1] the shard's item counts, KEYS[2] the item's partners.
-- ARGV[1] item, ARGV[2] its own change, ARGV[3] items per shard at most,
-- ARGV[4] partners per item at most, then pairs: other item, change, ...
-- Returns {1 if the item is counted else 0, pairs left out}.
local item = ARGV[1]
local change = tonumber(ARGV[2])
local count = tonumber(redis.call('HGET', KEYS[1], item) or '0')
if count == 0 then
  if change <= 0 or redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
    return {0, 0}
  end
end
count = count + change
if count <= 0 then
  redis.call('HDEL', KEYS[1], item)
  redis.call('DEL', KEYS[2])
  return {1, 0}
end
redis.call('HSET', KEYS[1], item, count)
local max_pairs = tonumber(ARGV[4])
local left_out = 0
for i = 5, #ARGV, 2 do
  local other = ARGV[i]
  local pair_change = tonumber(ARGV[i + 1])
  local pair = tonumber(redis.call('ZSCORE', KEYS[2], other) or '0')
  if pair == 0 and pair_change > 0 and
      redis.call('ZCARD', KEYS[2]) >= max_pairs then
    left_out = left_out + 1
  elseif pair + pair_change <= 0 then
    redis.call('ZREM', KEYS[2], other)
  else
    redis.call('ZADD', KEYS[2], pair + pair_change, other)
  end
end
return {1, left_out}
