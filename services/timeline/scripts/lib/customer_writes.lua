-- Shared by the scripts that write one customer's events and identities
-- (ingest_event, absorb_events, attach_identities); CMake puts this text (and
-- bytes.lua before it) in front of each of them, so these locals are in scope
-- there.
--
-- A stored event is a text header, then the protobuf payload:
--   revision|occurred_us|channel|kind|currency|amount_micros|satisfaction_milli|
-- The header lets these scripts fold an event into the single view (or take
-- an older revision out of it) and lets the read script filter, without
-- decoding protobuf. Retention trims an event to its header: the view still
-- counts it and a resend is still recognised.
--
-- The view hash holds: total, n:<channel>, t:<channel> (last time),
-- val:<currency> (micros, exact), sat_sum (thousandths), sat_n, first, last,
-- fch (the channel of the first interaction), created, recent_id and
-- recent_at (the most recent event), and the customer's identities as fields
-- i:<kind>:<value> (value '1'); once the customer is merged away or being
-- erased, only the field 'alias' (the survivor, or '-'). Identities and alias
-- in the view rather than keys of their own: the view is read once per event
-- and there are fewer keys to create and keep.
--
-- Purchases (events of kind PURCHASE with a value) are also kept per UTC
-- day, the model's purchase occasions: p:<day> (days since 1970-01-01) is
-- "<purchase events>;<currency>=<micros>;...", and pv counts the changes to
-- them, so the insights code that derives the lifecycle from them can write
-- its result only if they did not change meanwhile. The insights code owns
-- the field lh (the lifecycle history).
--
-- Numbers that can exceed 14 digits (times in microseconds, amounts) stay
-- strings: Lua would print them in exponent form and lose digits.

local HEADER_FIELDS = '^(%d+)|(%d+)|(%d+)|(%d+)|(%u*)|(%-?%d*)|(%d*)|'
local HEADER = '^(%d+|%d+|%d+|%d+|%u*|%-?%d*|%d*|)'

-- The customer this one was merged into, "-" when it is being erased, or
-- false while it is live: the field 'alias' of its view hash.
local function moved_to(view_key)
  return redis.call('HGET', view_key, 'alias')
end

-- Revisions are decimals without leading zeros.
local function revision_less(a, b)
  if #a ~= #b then return #a < #b end
  return bytes_less(a, b)
end

-- Redis refuses "-0" as an integer (HINCRBY), so zero stays "0".
local function negated(number)
  if string.sub(number, 1, 1) == '-' then return string.sub(number, 2) end
  if number == '0' then return number end
  return '-' .. number
end

local function as_integer(number)
  return string.format('%d', number)
end

local PURCHASE_KIND = '30'
local MICROS_PER_DAY = 86400000000

-- The view field of the purchase day of a time in microseconds.
local function purchase_day_field(micros)
  return 'p:' .. as_integer(math.floor(tonumber(micros) / MICROS_PER_DAY))
end

-- A purchase day's field as {n = purchase events, money = {currency =
-- micros}}, and back; currencies whose amount is zero are left out.
local function parse_purchase_day(text)
  local day = {n = 0, money = {}}
  if not text then return day end
  local n, rest = string.match(text, '^(%d+)(.*)$')
  day.n = tonumber(n)
  for currency, amount in string.gmatch(rest, ';(%u+)=(%-?%d+)') do
    day.money[currency] = tonumber(amount)
  end
  return day
end

local function format_purchase_day(day)
  local currencies = {}
  for currency, amount in pairs(day.money) do
    if amount ~= 0 then currencies[#currencies + 1] = currency end
  end
  table.sort(currencies)
  local parts = {as_integer(day.n)}
  for _, currency in ipairs(currencies) do
    parts[#parts + 1] = currency .. '=' .. as_integer(day.money[currency])
  end
  return table.concat(parts, ';')
end

-- Of identities ("kind:value") the customer lacks (`present[i]` is false),
-- picks those its limits let it take; `limits` is "kind=n,kind=n" (kinds not
-- named have none). `new_customer`: the view has no identities yet, so none
-- need counting. Returns the view fields to set (flat, field and '1') and the
-- identities that did not fit.
local function choose_identities(k, members, present, limits, new_customer)
  local limit = {}
  for kind, n in string.gmatch(limits, '([%w_]+)=(%d+)') do
    limit[kind] = tonumber(n)
  end
  -- Counted only when a limited kind comes new: most events bring none.
  local counts = nil
  if new_customer then counts = {} end
  local function count_of(kind)
    if not counts then
      counts = {}
      for _, field in ipairs(redis.call('HKEYS', k.view)) do
        local have = string.match(field, '^i:([^:]*):')
        if have then counts[have] = (counts[have] or 0) + 1 end
      end
    end
    return counts[kind] or 0
  end
  local refused, added, seen = {}, {}, {}
  for i, member in ipairs(members) do
    if not present[i] and not seen[member] then
      seen[member] = true
      local kind = string.match(member, '^([^:]*):')
      if limit[kind] and count_of(kind) >= limit[kind] then
        refused[#refused + 1] = member
      else
        if limit[kind] then counts[kind] = count_of(kind) + 1 end
        added[#added + 1] = 'i:' .. member
        added[#added + 1] = '1'
      end
    end
  end
  return added, refused
end

-- Adds identities to the customer as far as its limits allow (see
-- choose_identities). Returns the identities that did not fit.
local function attach(k, members, limits)
  -- A link of identities all known already has none to attach, and HMGET
  -- of no fields is an error.
  if #members == 0 then return {} end
  local fields = {}
  for i, member in ipairs(members) do fields[i] = 'i:' .. member end
  local present = redis.call('HMGET', k.view, unpack(fields))
  local added, refused = choose_identities(k, members, present, limits)
  if #added > 0 then redis.call('HSET', k.view, unpack(added)) end
  return refused
end

-- Stores `stored` (header .. payload) as event `id` of the customer whose
-- keys are `k` (events, timeline, view), and folds it into the view in the
-- same step. The same or a lower revision than the one stored changes
-- nothing. Identities (`members`, may be empty) are attached as attach()
-- does, with the same read and write of the view. Returns 'accepted',
-- 'updated' or 'duplicate', the identities that did not fit (nil for a
-- duplicate: nothing was attached), and whether the event is or was a
-- purchase; or 'moved' and the customer this one was merged into ('-': it is
-- being erased), having written nothing. `keep_purchases` false leaves the
-- purchase days alone (a hub run without insights, to measure them).
local function put_event(k, id, stored, now, members, limits, keep_purchases)
  local revision, occurred, channel, kind, currency, amount, satisfaction =
      string.match(stored, HEADER_FIELDS)
  if not revision then
    return redis.error_reply('stored event ' .. id .. ' has no valid header')
  end
  local purchase = keep_purchases and kind == PURCHASE_KIND and
      currency ~= ''

  -- One read of the view, before anything is written: whether the customer
  -- is still here, what the event changes, and which identities it has.
  local time_field = 't:' .. channel
  local names = {'alias', 'first', 'last', time_field, 'recent_id',
                 'recent_at', 'created', 'total', 'n:' .. channel}
  if satisfaction ~= '' then
    names[#names + 1] = 'sat_sum'
    names[#names + 1] = 'sat_n'
  end
  if purchase then
    names[#names + 1] = 'pv'
    names[#names + 1] = purchase_day_field(occurred)
  end
  local fixed = #names
  for _, member in ipairs(members) do names[#names + 1] = 'i:' .. member end
  local values = redis.call('HMGET', k.view, unpack(names))
  if values[1] then return 'moved', values[1] end
  -- Absent fields read as false; fields not read stay nil.
  local current = {}
  for i = 1, fixed do current[names[i]] = values[i] end

  local counters = {}
  local function count(field, by)
    counters[field] = (counters[field] or 0) + by
  end
  local money = {}
  -- Changes to purchase days: field -> {n = events, money = {currency =
  -- micros}}.
  local purchase_days = {}
  local function count_purchase(at, purchase_currency, micros, sign)
    local field = purchase_day_field(at)
    local change = purchase_days[field]
    if not change then
      change = {n = 0, money = {}}
      purchase_days[field] = change
    end
    change.n = change.n + sign
    change.money[purchase_currency] =
        (change.money[purchase_currency] or 0) + sign * tonumber(micros)
  end

  -- Most events are new: one HSETNX stores them; only a resend reads back.
  local result = 'accepted'
  local old = false
  if redis.call('HSETNX', k.events, id, stored) == 0 then
    old = redis.call('HGET', k.events, id)
  end
  local was_purchase = false
  if old then
    local old_revision, old_occurred, old_channel, old_kind, old_currency,
          old_amount, old_satisfaction = string.match(old, HEADER_FIELDS)
    was_purchase = keep_purchases and old_kind == PURCHASE_KIND and
        old_currency ~= ''
    if not revision_less(old_revision, revision) then
      return 'duplicate', nil, purchase or was_purchase
    end
    if was_purchase then
      count_purchase(old_occurred, old_currency, old_amount, -1)
    end
    count('total', -1)
    count('n:' .. old_channel, -1)
    if old_currency ~= '' then
      money[#money + 1] = {old_currency, negated(old_amount)}
    end
    if old_satisfaction ~= '' then
      count('sat_sum', -tonumber(old_satisfaction))
      count('sat_n', -1)
    end
    redis.call('ZREM', k.timeline, id)
    redis.call('HSET', k.events, id, stored)
    result = 'updated'
  end
  count('total', 1)
  count('n:' .. channel, 1)
  if currency ~= '' then money[#money + 1] = {currency, amount} end
  if purchase then count_purchase(occurred, currency, amount, 1) end
  if satisfaction ~= '' then
    count('sat_sum', tonumber(satisfaction))
    count('sat_n', 1)
  end

  local trimmed_copy = #stored == #string.match(stored, HEADER)
  if not trimmed_copy then
    redis.call('ZADD', k.timeline, occurred, id)
  end

  -- An update may touch counters the first read did not cover (another
  -- channel; a satisfaction the new revision dropped).
  local unread = {}
  for field in pairs(counters) do
    if current[field] == nil then unread[#unread + 1] = field end
  end
  if next(purchase_days) and current.pv == nil then
    unread[#unread + 1] = 'pv'
  end
  for field in pairs(purchase_days) do
    if current[field] == nil then unread[#unread + 1] = field end
  end
  if #unread > 0 then
    local more = redis.call('HMGET', k.view, unpack(unread))
    for i, field in ipairs(unread) do current[field] = more[i] end
  end

  local at = tonumber(occurred)
  local updates = {}
  local function set(field, value)
    updates[#updates + 1] = field
    updates[#updates + 1] = value
  end
  for field, by in pairs(counters) do
    if by ~= 0 then set(field, as_integer((tonumber(current[field]) or 0) + by)) end
  end
  if not current.first or at < tonumber(current.first) then
    set('first', occurred)
    set('fch', channel)
  end
  if not current.last or at > tonumber(current.last) then
    set('last', occurred)
  end
  if not current[time_field] or at > tonumber(current[time_field]) then
    set(time_field, occurred)
  end
  if not current.created then set('created', now) end
  -- Ties on time go to the larger event id, as on the timeline.
  local recent_id, recent_at = current.recent_id, tonumber(current.recent_at)
  if not recent_id or at > recent_at or
      (at == recent_at and bytes_less(recent_id, id)) then
    set('recent_id', id)
    set('recent_at', occurred)
  elseif recent_id == id then
    -- A new revision of the most recent event moved back in time: another
    -- event may now be the most recent.
    local top = redis.call('ZREVRANGE', k.timeline, 0, 0, 'WITHSCORES')
    if top[1] then
      set('recent_id', top[1])
      set('recent_at', top[2])
    end
  end
  local refused = {}
  if #members > 0 then
    local added
    added, refused = choose_identities(k, members,
                                       {unpack(values, fixed + 1)}, limits,
                                       not current.created)
    for _, item in ipairs(added) do updates[#updates + 1] = item end
  end
  -- A purchase whose update leaves it as it was changes no day.
  local emptied = {}
  local purchases_changed = false
  for field, change in pairs(purchase_days) do
    local changed = change.n ~= 0
    for _, micros in pairs(change.money) do changed = changed or micros ~= 0 end
    if changed then
      purchases_changed = true
      local day = parse_purchase_day(current[field])
      day.n = day.n + change.n
      for day_currency, micros in pairs(change.money) do
        day.money[day_currency] = (day.money[day_currency] or 0) + micros
      end
      if day.n > 0 then
        set(field, format_purchase_day(day))
      else
        emptied[#emptied + 1] = field
      end
    end
  end
  if purchases_changed then
    set('pv', as_integer((tonumber(current.pv) or 0) + 1))
  end
  if #updates > 0 then redis.call('HSET', k.view, unpack(updates)) end
  if #emptied > 0 then redis.call('HDEL', k.view, unpack(emptied)) end
  for _, change in ipairs(money) do
    redis.call('HINCRBY', k.view, 'val:' .. change[1], change[2])
  end
  return result, refused, purchase or was_purchase
end

-- Cuts the given timeline entries down to their headers.
local function tombstone(k, members)
  for _, member in ipairs(members) do
    local value = redis.call('HGET', k.events, member)
    if value then
      redis.call('HSET', k.events, member, string.match(value, HEADER))
    end
  end
  return #members
end

-- Applies retention: at most `max_events` (0: no limit) events keep their
-- payload, and none that occurred before `oldest_kept` ('0': keep all; a
-- string of microseconds). Returns how many were trimmed.
local function trim(k, max_events, oldest_kept)
  local trimmed = 0
  if max_events > 0 then
    local excess = redis.call('ZCARD', k.timeline) - max_events
    if excess > 0 then
      trimmed = trimmed +
          tombstone(k, redis.call('ZRANGE', k.timeline, 0, excess - 1))
      redis.call('ZREMRANGEBYRANK', k.timeline, 0, excess - 1)
    end
  end
  if oldest_kept ~= '0' then
    local bound = '(' .. oldest_kept
    trimmed = trimmed + tombstone(k,
        redis.call('ZRANGEBYSCORE', k.timeline, '-inf', bound))
    redis.call('ZREMRANGEBYSCORE', k.timeline, '-inf', bound)
  end
  return trimmed
end

-- Marks a customer that has identities but no events yet as existing.
local function ensure_created(k, now)
  redis.call('HSETNX', k.view, 'created', now)
end
