-- Points a key (an identity or an alias) from one customer to another, only
-- if it still names the first: concurrent merges never overwrite each other.
--
-- KEYS[1] key   ARGV[1] expected value   ARGV[2] new value ('': delete)
-- Returns 1 when changed, 0 when the key held something else.

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
