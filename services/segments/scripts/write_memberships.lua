-- Records one customer's segment memberships as just evaluated, and returns
-- what the member indexes must change to match: one script on the
-- customer's slot, so its memberships and their history move together.
-- KEYS[1] its memberships hash (name -> "version|since micros"),
-- KEYS[2] its history list, KEYS[3] its view hash
-- ARGV[1] now (micros), ARGV[2] history entries kept, then for each segment
-- whose verdict differs from what the caller read as recorded: name,
-- version, '1' (member) or '0'
-- Returns {'gone'} when the customer was merged away or is being erased
-- (nothing written), else a flat list of index changes: '+' or '-', name,
-- version. A verdict under an older version than the one recorded (a
-- replica that has not loaded the new definition yet) is not recorded.
-- Segments the caller did not name are left as they are: their verdicts
-- equal what the caller read (if a concurrent evaluation changed one since,
-- it read the view too, and the view is read again by both after their
-- writes), or the caller may be a replica that has not loaded a segment
-- created a moment ago. (A deleted segment's entries stay until the
-- customer is erased; its member indexes are dropped with it.)
if redis.call('HGET', KEYS[3], 'alias') or
    redis.call('EXISTS', KEYS[3]) == 0 then
  return {'gone'}
end
local now = ARGV[1]
local keep = tonumber(ARGV[2])
if #ARGV < 3 then return {} end
local names = {}
for i = 3, #ARGV, 3 do names[#names + 1] = ARGV[i] end
local recorded = {}
local values = redis.call('HMGET', KEYS[1], unpack(names))
for i, value in ipairs(values) do
  if value then
    local version, since = string.match(value, '^(%d+)|(%d+)$')
    if version then
      recorded[names[i]] = {version = tonumber(version), since = since}
    end
  end
end
local changes = {}
local history = {}
local writes = {}
local exits = {}
for i = 3, #ARGV, 3 do
  local name, version, member = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local old = recorded[name]
  if not (old and old.version > version) then
    if member == '1' then
      local since = now
      if old then
        since = old.since
        if old.version ~= version then
          changes[#changes + 1] = '-'
          changes[#changes + 1] = name
          changes[#changes + 1] = tostring(old.version)
        end
      else
        history[#history + 1] = now .. '|+|' .. name .. '|' .. version
      end
      if not old or old.version ~= version then
        changes[#changes + 1] = '+'
        changes[#changes + 1] = name
        changes[#changes + 1] = tostring(version)
        writes[#writes + 1] = name
        writes[#writes + 1] = version .. '|' .. since
      end
    elseif old then
      changes[#changes + 1] = '-'
      changes[#changes + 1] = name
      changes[#changes + 1] = tostring(old.version)
      history[#history + 1] = now .. '|-|' .. name .. '|' .. version
      exits[#exits + 1] = name
    end
  end
end
if #exits > 0 then redis.call('HDEL', KEYS[1], unpack(exits)) end
if #writes > 0 then redis.call('HSET', KEYS[1], unpack(writes)) end
if #history > 0 then
  redis.call('LPUSH', KEYS[2], unpack(history))
  redis.call('LTRIM', KEYS[2], 0, keep - 1)
end
return changes
