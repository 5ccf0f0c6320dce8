-- The last write of a merge or an erasure: deletes what the customer held
-- (for a merge, all of it now copied to the survivor) and leaves only its
-- alias, the field 'alias' of its view hash.
--
-- KEYS[1..6] events, timeline, view, merge log, aliases, claims
-- ARGV[1] the survivor, or '-' to finish an erasure
-- ARGV[2] (an erasure) how long the mark stays, in ms, so that writes still
--         in flight for the customer resolve afresh
-- Returns 1, or 0 when the alias says otherwise: a merge whose customer is
-- being erased since, or an erasure of a customer not marked for one.

local alias = redis.call('HGET', KEYS[3], 'alias')
if ARGV[1] == '-' then
  if alias ~= '-' then return 0 end
elseif not alias or alias == '-' then
  return 0
end
redis.call('DEL', unpack(KEYS))
redis.call('HSET', KEYS[3], 'alias', ARGV[1])
if ARGV[2] then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return 1
