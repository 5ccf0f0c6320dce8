-- The first write of a merge on the customer being merged away: from here
-- on, every write aimed at it (ingest, attach, merge) is sent to the
-- survivor, so its events can be copied without any arriving behind the copy.
-- A customer that has nothing yet (only identity keys name it) is marked
-- all the same, so those identities resolve to the survivor.
--
-- KEYS[1] view hash (its field 'alias')   ARGV[1] survivor
--
-- Returns {'marked'} (also when already marked for this survivor), or
-- {'other', customer} when it is already being merged into another customer
-- (or '-': being erased).

local alias = redis.call('HGET', KEYS[1], 'alias')
if alias == ARGV[1] then return {'marked'} end
if alias then return {'other', alias} end
redis.call('HSET', KEYS[1], 'alias', ARGV[1])
return {'marked'}
