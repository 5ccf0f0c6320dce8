-- The last write of a merge: deletes what the merged-away customer held (all
-- of it now copied to the survivor) and leaves only its alias.
--
-- KEYS[1..5] events, timeline, view, merge log, aliases
-- KEYS[6] alias   ARGV[1] the survivor
-- Returns 1, or 0 when the alias no longer names a survivor (erased since).

local alias = redis.call('GET', KEYS[6])
if not alias or alias == '-' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SET', KEYS[6], ARGV[1])
return 1
