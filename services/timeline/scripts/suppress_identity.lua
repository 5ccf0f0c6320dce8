-- Suppresses one identity for an erasure asked with `suppress`: writes its
-- suppression and its time to live in one step (so no suppression is left
-- without one), unless it is suppressed for longer already.
--
-- KEYS[1] the identity's suppression (omnihub:sup:{<sha256>})
-- ARGV[1] until, ms
-- ARGV[2] time to live, ms
-- ARGV[3..] field, value, ... (until among them)
-- Returns {the until that was there before or '', 1 when written else 0}.

local before = redis.call('HGET', KEYS[1], 'until')
if before and tonumber(before) >= tonumber(ARGV[1]) then
  return {before, 0}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {before or '', 1}
