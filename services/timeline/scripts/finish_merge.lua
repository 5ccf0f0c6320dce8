-- The last write of a merge: deletes what the merged-away customer held (all
-- of it now copied to the survivor) and leaves only its alias.
--
-- KEYS[1..6] events, timeline, view, identities, merge log, aliases
-- KEYS[7] alias   ARGV[1] the survivor
-- Returns 1, or 0 when the alias no longer names a survivor (erased since).

local alias = redis.call('GET', KEYS[7])
if not alias or alias == '-' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('SET', KEYS[7], ARGV[1])
return 1
