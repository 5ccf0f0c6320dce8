-- One step of a merge: stores a chunk of the merged-away customer's events
-- on the survivor, as ingest_event would (a copy already there with the same
-- or a higher revision is left alone), so running it twice changes nothing.
--
-- KEYS[1] events hash   KEYS[2] timeline zset   KEYS[3] view hash
-- ARGV[1] now (us)      ARGV[2] most events kept   ARGV[3] oldest kept (us)
-- ARGV[4..] event id, stored value, event id, stored value, ...
--
-- Returns {'moved', customer} when the survivor itself was merged away (or
-- is being erased) and nothing was written; {'rejected', event id, reason}
-- when an event would take a total of the survivor's view beyond 64 bits:
-- the events before it in the chunk are stored (each whole), it and those
-- after it are not; else {'ok', stored, trimmed}.

local k = {events = KEYS[1], timeline = KEYS[2], view = KEYS[3]}
check_retention(ARGV[2], ARGV[3])
local alias = moved_to(KEYS[3])
if alias then return {'moved', alias} end
local stored = 0
for i = 4, #ARGV, 2 do
  local result, _, reason =
      put_event(k, ARGV[i], ARGV[i + 1], ARGV[1], {}, '', true)
  if result == 'rejected' then return {'rejected', ARGV[i], reason} end
  if result ~= 'duplicate' then stored = stored + 1 end
end
return {'ok', stored, trim(k, tonumber(ARGV[2]), ARGV[3])}
