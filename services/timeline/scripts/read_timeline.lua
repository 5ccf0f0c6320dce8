-- Reads one page of a customer's timeline, newest first, with filters.
--
-- KEYS[1] events hash   KEYS[2] timeline zset   KEYS[3] view hash
-- ARGV[1] upper bound on occurred_at: "+inf", "(us" (exclusive) or "us"
-- ARGV[2] cursor occurred_at us ("" on the first page)
-- ARGV[3] cursor event id: on the cursor's own time, only smaller ids follow
-- ARGV[4] lower bound on occurred_at: "-inf" or "us" (inclusive)
-- ARGV[5] page size
-- ARGV[6] channels wanted as ",1,3," ("" for all)
-- ARGV[7] kinds wanted as ",10,11," ("" for all)
-- ARGV[8] most timeline entries to look at in one call (bounds the work when
--         filters match little)
--
-- Returns {more, cursor_us, cursor_id, id, value, id, value...}: the page's
-- events, and where the next page starts. `more` is 1 when entries may remain.
-- Returns {'moved', customer} when the customer was merged into another (or
-- '-': is being erased).

local events, timeline = KEYS[1], KEYS[2]
local upper, cursor_at, cursor_id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local lower, page_size = ARGV[4], tonumber(ARGV[5])
local channels, kinds = ARGV[6], ARGV[7]
local scan_limit = tonumber(ARGV[8])

local alias = redis.call('HGET', KEYS[3], 'alias')
if alias then return {'moved', alias} end

local function wanted(value)
  local channel, kind = string.match(value, '^%d+|%d+|(%d+)|(%d+)|')
  if channels ~= '' and not string.find(channels, ',' .. channel .. ',', 1, true) then
    return false
  end
  if kinds ~= '' and not string.find(kinds, ',' .. kind .. ',', 1, true) then
    return false
  end
  return true
end

local page = {}
local last_at, last_id = '', ''
local scanned, offset = 0, 0
local chunk = math.min(math.max(page_size * 2, 64), scan_limit)
while true do
  local entries = redis.call('ZREVRANGEBYSCORE', timeline, upper, lower,
                             'WITHSCORES', 'LIMIT', offset, chunk)
  if #entries == 0 then return {0, '', '', unpack(page)} end
  offset = offset + #entries / 2
  for i = 1, #entries, 2 do
    local member, at = entries[i], tonumber(entries[i + 1])
    local before_cursor = (cursor_at == nil) or at < cursor_at or
                          bytes_less(member, cursor_id)
    if before_cursor then
      scanned = scanned + 1
      local value = redis.call('HGET', events, member)
      if value and wanted(value) then
        if #page == 2 * page_size then
          return {1, last_at, last_id, unpack(page)}
        end
        page[#page + 1] = member
        page[#page + 1] = value
        last_at, last_id = entries[i + 1], member
      end
      if scanned >= scan_limit then
        -- Continue from here next time, even if this page is short.
        return {1, entries[i + 1], member, unpack(page)}
      end
    end
  end
end
