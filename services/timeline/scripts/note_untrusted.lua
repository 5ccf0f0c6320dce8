-- Writes a record of an untrusted source's conflict to one customer's merge
-- log: an unverified claim refused, or a claim a verified event took over.
-- A source that anybody can use (a web page's public write key) could
-- otherwise grow a customer's merge log without bound; past `cap` records of
-- the kind, new ones are not written (the caller counts them).
--
-- KEYS[1] merge log hash
-- ARGV[1] field   ARGV[2] record   ARGV[3] 'set': write over a record of
--         that field ('nx': count it instead)
-- ARGV[4] most such records on one customer (0: no limit)
--
-- Returns 1 when written or counted, 0 when the cap kept it out.

local COUNT = 'untrusted:n'
local times = ARGV[1] .. ':n'
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if ARGV[3] == 'set' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
  redis.call('HINCRBY', KEYS[1], times, 1)
  return 1
end
local cap = tonumber(ARGV[4])
if cap > 0 and tonumber(redis.call('HGET', KEYS[1], COUNT) or '0') >= cap then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], times, 1)
redis.call('HINCRBY', KEYS[1], COUNT, 1)
return 1
