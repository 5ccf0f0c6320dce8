-- Points an identity key, or a merged customer's alias, from one customer to
-- another, only if it still names the first: concurrent merges never
-- overwrite each other.
--
-- KEYS[1] key   ARGV[1] expected value   ARGV[2] new value ('': delete)
-- ARGV[3] the hash field holding the value (an alias: 'alias' of a view
--         hash); absent when the key is a string
-- Returns 1 when changed, 0 when the key held something else.

local field = ARGV[3]
local current
if field then
  current = redis.call('HGET', KEYS[1], field)
else
  current = redis.call('GET', KEYS[1])
end
if current ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  if field then
    redis.call('HDEL', KEYS[1], field)
  else
    redis.call('DEL', KEYS[1])
  end
elseif field then
  redis.call('HSET', KEYS[1], field, ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
