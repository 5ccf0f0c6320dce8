-- Creates, changes or deletes one segment definition, only if it is as the
-- caller read it (compare-and-set), and starts the segment's evaluation
-- under its new version over: one script, so two replicas changing one
-- segment at once leave one change or the other, never a mix.
-- KEYS[1] the definitions hash, KEYS[2] the hash of versions fully
-- evaluated, KEYS[3] the last version each name had (kept after a delete,
-- so a segment defined again under the name carries on from there: the
-- customers' records of the old one never pass for the new one's)
-- ARGV[1] name, ARGV[2] the definition as read ('' when absent),
-- ARGV[3] the new definition ('' to delete it), ARGV[4] its version
-- Returns 1, or 0 when the definition changed since it was read.
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
