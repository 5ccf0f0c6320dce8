-- Records or clears a merge under way, so that any replica can finish a
-- merge whose process died half way.
--
-- KEYS[1] pending zset (member "merged>survivor", scored by start ms)
-- KEYS[2] intents hash (member -> merge record)
-- ARGV[1] 'add' or 'clear'   ARGV[2] member   ARGV[3] start ms
-- ARGV[4] record ('add')

-- Keys of the wrong type fail here, before the first write.
redis.call('ZCARD', KEYS[1])
redis.call('HLEN', KEYS[2])
if ARGV[1] == 'add' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[2])
  redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[4])
else
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
