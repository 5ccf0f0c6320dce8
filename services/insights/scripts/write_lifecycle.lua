-- Records a customer's lifecycle history, computed from its purchases, only
-- if neither the purchases nor the recorded history changed since they were
-- read (compare-and-set): of two replicas doing the same, one writes, and
-- a purchase stored meanwhile makes the writer start again.
--
-- KEYS[1] view hash
-- ARGV[1] purchase version read (pv, '' when absent)
-- ARGV[2] history read ('' when absent)
-- ARGV[3] history to record
-- Returns 'ok', 'changed', or {'moved', customer} / 'missing'.

local values = redis.call('HMGET', KEYS[1], 'alias', 'pv', 'lh')
if values[1] then return {'moved', values[1]} end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if (values[2] or '') ~= ARGV[1] or (values[3] or '') ~= ARGV[2] then
  return 'changed'
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'lh')
else
  redis.call('HSET', KEYS[1], 'lh', ARGV[3])
end
return 'ok'
