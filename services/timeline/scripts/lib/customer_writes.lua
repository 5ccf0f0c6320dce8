-- Shared by the scripts that write one customer's events and identities
-- (ingest_event, absorb_events, attach_identities, absorb_profile); CMake puts
-- this text (and bytes.lua and decimal.lua before it) in front of each of
-- them, so these locals are in scope there.
--
-- Redis does not roll a script back when it fails half way: what it wrote
-- before the failure stays. So every write of these functions comes after
-- every read and every check that can fail (a key of the wrong type, a field
-- that is no number, a total that would overflow): an event is either
-- written whole or refused, having changed nothing.
--
-- A stored event is a text header, then the protobuf payload:
--   revision|occurred_us|channel|kind|currency|amount_micros|satisfaction_milli|
-- The header lets these scripts fold an event into the single view (or take
-- an older revision out of it) and lets the read script filter, without
-- decoding protobuf. Retention trims an event to its header: the view still
-- counts it and a resend is still recognised.
--
-- The view hash holds: total, n:<channel>, t:<channel> (last time),
-- k:<kind> (events of an InteractionKind; events stored by an omnihub
-- without it are not counted there), val:<currency> (micros, exact),
-- sat_sum (thousandths), sat_n, first, last, fch (the channel of the first
-- interaction), created, recent_id and recent_at (the most recent event),
-- and the customer's identities as fields i:<kind>:<value> (value '1', or
-- 'u' while the customer holds it only by an unverified claim: a verified
-- event naming it does not trust that, see ingest_operation.h); once the
-- customer is merged away or being erased, only the field 'alias' (the
-- survivor, or '-'). Identities and alias in the view rather than keys of
-- their own: the view is read once per event and there are fewer keys to
-- create and keep.
--
-- Purchases (events of kind PURCHASE with a value) are also kept per UTC
-- day, the model's purchase occasions: p:<day> (days since 1970-01-01) is
-- "<purchase events>;<currency>=<micros>;...", and pv counts the changes to
-- them, so the insights code that derives the lifecycle from them can write
-- its result only if they did not change meanwhile. The insights code owns
-- the field lh (the lifecycle history).
--
-- Numbers that can exceed 14 digits (times in microseconds, amounts) stay
-- strings: Lua would print them in exponent form and lose digits. Sums of
-- amounts and counters are exact (decimal.lua) and kept within 64 bits.

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

local function negated(decimal)
  if string.sub(decimal, 1, 1) == '-' then return string.sub(decimal, 2) end
  return '-' .. decimal
end

local function as_integer(number)
  return string.format('%d', number)
end

-- Stops the script on data these scripts did not write (a field that is no
-- number, an event without a header); called before the first write, so the
-- error changes nothing.
local function corrupt(what)
  error('corrupt customer data: ' .. what, 0)
end

-- The field's value as read (false when absent) if it is a 64-bit decimal.
local function checked_integer(field, value)
  if value and not is_int64(value) then
    corrupt('view field ' .. field .. ' is "' .. value .. '", not an integer')
  end
  return value
end

local PURCHASE_KIND = '30'
local MICROS_PER_DAY = 86400000000

-- The view field of the purchase day of a time in microseconds.
local function purchase_day_field(micros)
  return 'p:' .. as_integer(math.floor(tonumber(micros) / MICROS_PER_DAY))
end

-- A purchase day's field as {n = purchase events, money = {currency =
-- micros, as decimal strings}}, and back; currencies whose amount is zero
-- are left out.
local function parse_purchase_day(field, text)
  local day = {n = 0, money = {}}
  if not text then return day end
  local n, rest = string.match(text, '^(%d+)(.*)$')
  if not n or string.gsub(rest, ';%u+=%-?%d+', '') ~= '' then
    corrupt('view field ' .. field .. ' is "' .. text .. '"')
  end
  day.n = tonumber(n)
  for currency, amount in string.gmatch(rest, ';(%u+)=(%-?%d+)') do
    if not is_int64(amount) then
      corrupt('view field ' .. field .. ' is "' .. text .. '"')
    end
    day.money[currency] = amount
  end
  return day
end

local function format_purchase_day(day)
  local currencies = {}
  for currency, amount in pairs(day.money) do
    if amount ~= '0' then currencies[#currencies + 1] = currency end
  end
  table.sort(currencies)
  local parts = {as_integer(day.n)}
  for _, currency in ipairs(currencies) do
    parts[#parts + 1] = currency .. '=' .. day.money[currency]
  end
  return table.concat(parts, ';')
end

-- Of identities ("kind:value") the customer lacks (`present[i]` is false),
-- picks those its limits let it take; `limits` is "kind=n,kind=n" (kinds not
-- named have none). `new_customer`: the view has no identities yet, so none
-- need counting. `claims` (may be nil): the identities (member -> true) that
-- are only claimed, set to 'u' rather than '1'. Returns the view fields to
-- set (flat, field and value) and the identities that did not fit.
local function choose_identities(k, members, present, limits, new_customer,
                                 claims)
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
        if claims and claims[member] then
          added[#added + 1] = 'u'
        else
          added[#added + 1] = '1'
        end
      end
    end
  end
  return added, refused
end

-- The view fields (flat, field and '1') of identities the customer holds
-- only by a claim ('u' in `present`) that are named now without being
-- claims: verified for good.
local function upgrades(members, present, claims)
  local fields = {}
  for i, member in ipairs(members) do
    if present[i] == 'u' and not (claims and claims[member]) then
      fields[#fields + 1] = 'i:' .. member
      fields[#fields + 1] = '1'
    end
  end
  return fields
end

-- Adds identities to the customer as far as its limits allow (see
-- choose_identities), those in `claims` (may be nil) as claims. `upgrade`:
-- identities it holds by a claim that are not claims here become verified.
-- Returns the identities that did not fit.
local function attach(k, members, limits, claims, upgrade)
  -- A link of identities all known already has none to attach, and HMGET
  -- of no fields is an error.
  if #members == 0 then return {} end
  local fields = {}
  for i, member in ipairs(members) do fields[i] = 'i:' .. member end
  local present = redis.call('HMGET', k.view, unpack(fields))
  local added, refused =
      choose_identities(k, members, present, limits, false, claims)
  if upgrade then
    for _, item in ipairs(upgrades(members, present, claims)) do
      added[#added + 1] = item
    end
  end
  if #added > 0 then redis.call('HSET', k.view, unpack(added)) end
  return refused
end

-- Whether the timeline entry (at_a, id_a) comes after (at_b, id_b): later,
-- or at the same time with the larger event id, as on the timeline.
local function entry_after(at_a, id_a, at_b, id_b)
  local a, b = tonumber(at_a), tonumber(at_b)
  return a > b or (a == b and bytes_less(id_b, id_a))
end

-- Stores `stored` (header .. payload) as event `id` of the customer whose
-- keys are `k` (events, timeline, view), and folds it into the view in the
-- same step. The same or a lower revision than the one stored changes
-- nothing. Identities (`members`, may be empty) are attached as attach()
-- does, with the same read and write of the view (`claims`, may be nil: the
-- members only claimed; the others, held by a claim so far, become
-- verified). Returns 'accepted',
-- 'updated' or 'duplicate', the identities that did not fit (nil for a
-- duplicate: nothing was attached), and whether the event is or was a
-- purchase (of any value, or none); or 'moved' and the customer this one was merged into ('-': it is
-- being erased), having written nothing; or 'rejected', the event's field
-- at fault and why (a total that would leave 64 bits), having written
-- nothing. `keep_purchases` false leaves the purchase days alone (a hub run
-- without insights, to measure them).
local function put_event(k, id, stored, now, members, limits, keep_purchases,
                         claims)
  local revision, occurred, channel, kind, currency, amount, satisfaction =
      string.match(stored, HEADER_FIELDS)
  if not revision or (currency ~= '' and not is_int64(amount)) or
      (satisfaction ~= '' and not is_int64(satisfaction)) then
    corrupt('stored event ' .. id .. ' has no valid header')
  end
  local purchase = keep_purchases and kind == PURCHASE_KIND and
      currency ~= ''
  -- What the observers are told: any purchase, with a value or not (its
  -- line items count for cross-selling), whatever keep_purchases says.
  local any_purchase = kind == PURCHASE_KIND

  -- One read of the view: whether the customer is still here, what the
  -- event changes, and which identities it has.
  local time_field = 't:' .. channel
  local names = {'alias', 'first', 'last', time_field, 'recent_id',
                 'recent_at', 'created', 'total', 'n:' .. channel,
                 'k:' .. kind}
  if currency ~= '' then names[#names + 1] = 'val:' .. currency end
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

  -- Most events are new: the read finds nothing.
  local old = redis.call('HGET', k.events, id)

  -- What the event changes: counters and totals (field -> decimal to add)
  -- and purchase days (field -> {n = events, money = {currency = micros}}).
  local deltas = {}
  local function add(field, by)
    local sum = by
    if deltas[field] then sum = add_int64(deltas[field], by) end
    if not sum then corrupt('stored event ' .. id .. ' has no valid header') end
    deltas[field] = sum
  end
  local purchase_days = {}
  local function count_purchase(at, purchase_currency, micros, sign)
    local field = purchase_day_field(at)
    local change = purchase_days[field]
    if not change then
      change = {n = 0, money = {}}
      purchase_days[field] = change
    end
    change.n = change.n + sign
    if sign < 0 then micros = negated(micros) end
    local sum = add_int64(change.money[purchase_currency] or '0', micros)
    if not sum then corrupt('stored event ' .. id .. ' has no valid header') end
    change.money[purchase_currency] = sum
  end

  local result = 'accepted'
  local was_purchase = false
  if old then
    local old_revision, old_occurred, old_channel, old_kind, old_currency,
          old_amount, old_satisfaction = string.match(old, HEADER_FIELDS)
    if not old_revision or
        (old_currency ~= '' and not is_int64(old_amount)) or
        (old_satisfaction ~= '' and not is_int64(old_satisfaction)) then
      corrupt('stored event ' .. id .. ' has no valid header')
    end
    was_purchase = keep_purchases and old_kind == PURCHASE_KIND and
        old_currency ~= ''
    if old_kind == PURCHASE_KIND then any_purchase = true end
    if not revision_less(old_revision, revision) then
      return 'duplicate', nil, any_purchase
    end
    if was_purchase then
      count_purchase(old_occurred, old_currency, old_amount, -1)
    end
    add('total', '-1')
    add('n:' .. old_channel, '-1')
    add('k:' .. old_kind, '-1')
    if old_currency ~= '' then
      add('val:' .. old_currency, negated(old_amount))
    end
    if old_satisfaction ~= '' then
      add('sat_sum', negated(old_satisfaction))
      add('sat_n', '-1')
    end
    result = 'updated'
  end
  add('total', '1')
  add('n:' .. channel, '1')
  add('k:' .. kind, '1')
  if currency ~= '' then add('val:' .. currency, amount) end
  if purchase then count_purchase(occurred, currency, amount, 1) end
  if satisfaction ~= '' then
    add('sat_sum', satisfaction)
    add('sat_n', '1')
  end

  -- An update may touch fields the first read did not cover (another
  -- channel or currency; a satisfaction the new revision dropped).
  local unread = {}
  for field in pairs(deltas) do
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
  for _, field in ipairs({'first', 'last', time_field, 'recent_at'}) do
    checked_integer(field, current[field])
  end

  local updates = {}
  local function set(field, value)
    updates[#updates + 1] = field
    updates[#updates + 1] = value
  end
  for field, by in pairs(deltas) do
    if by ~= '0' then
      local before = checked_integer(field, current[field]) or '0'
      local after = add_int64(before, by)
      if not after then
        local what = 'the customer\'s ' .. field
        if string.sub(field, 1, 4) == 'val:' then
          what = 'the customer\'s total value in ' .. string.sub(field, 5) ..
              ' (micros)'
        end
        return 'rejected', 'value.amount_micros',
            what .. ' would overflow: ' .. before .. ' + ' .. by ..
            ' is beyond the 64-bit limit ' .. (string.sub(by, 1, 1) == '-' and
            '-9223372036854775808' or '9223372036854775807') ..
            '; nothing was stored'
      end
      set(field, after)
    end
  end
  local at = tonumber(occurred)
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
  local trimmed_copy = #stored == #string.match(stored, HEADER)
  -- Ties on time go to the larger event id, as on the timeline.
  local recent_id, recent_at = current.recent_id, current.recent_at
  if not recent_id or entry_after(occurred, id, recent_at, recent_id) then
    set('recent_id', id)
    set('recent_at', occurred)
  elseif recent_id == id then
    -- A new revision of the most recent event moved back in time: another
    -- event may now be the most recent, the latest of the timeline without
    -- this event's old entry and with its new one.
    local best_id, best_at = nil, nil
    if not trimmed_copy then best_id, best_at = id, occurred end
    local top = redis.call('ZREVRANGE', k.timeline, 0, 1, 'WITHSCORES')
    for i = 1, #top, 2 do
      if top[i] ~= id then
        if not best_id or entry_after(top[i + 1], top[i], best_at, best_id) then
          best_id, best_at = top[i], top[i + 1]
        end
        break
      end
    end
    if best_id then
      set('recent_id', best_id)
      set('recent_at', best_at)
    end
  end
  -- A purchase whose update leaves it as it was changes no day.
  local emptied = {}
  local purchases_changed = false
  for field, change in pairs(purchase_days) do
    local changed = change.n ~= 0
    for _, micros in pairs(change.money) do changed = changed or micros ~= '0' end
    if changed then
      purchases_changed = true
      local day = parse_purchase_day(field, current[field])
      day.n = day.n + change.n
      for day_currency, micros in pairs(change.money) do
        local spent = add_int64(day.money[day_currency] or '0', micros)
        if not spent then
          return 'rejected', 'value.amount_micros',
              'the customer\'s purchases in ' .. day_currency .. ' on day ' ..
              string.sub(field, 3) .. ' (days since 1970-01-01) would ' ..
              'overflow: ' .. (day.money[day_currency] or '0') .. ' + ' ..
              micros .. ' micros is beyond the 64-bit limit; nothing was ' ..
              'stored'
        end
        day.money[day_currency] = spent
      end
      if day.n > 0 then
        set(field, format_purchase_day(day))
      else
        emptied[#emptied + 1] = field
      end
    end
  end
  if purchases_changed then
    set('pv', add_int64(checked_integer('pv', current.pv) or '0', '1'))
  end
  -- Identities last of the checks: HKEYS (to count them) only when the
  -- event is going to be stored.
  local refused = {}
  if #members > 0 then
    local present = {unpack(values, fixed + 1)}
    local added
    added, refused = choose_identities(k, members, present, limits,
                                       not current.created, claims)
    for _, item in ipairs(added) do updates[#updates + 1] = item end
    for _, item in ipairs(upgrades(members, present, claims)) do
      updates[#updates + 1] = item
    end
  end

  -- Every check passed: the writes. The timeline is the one key not read
  -- yet, so it comes first: of the wrong type, it fails before any write.
  if old then
    redis.call('ZREM', k.timeline, id)
  elseif trimmed_copy then
    -- Not written here, but retention reads it after these writes.
    redis.call('ZCARD', k.timeline)
  end
  if not trimmed_copy then redis.call('ZADD', k.timeline, occurred, id) end
  redis.call('HSET', k.events, id, stored)
  if #updates > 0 then redis.call('HSET', k.view, unpack(updates)) end
  if #emptied > 0 then redis.call('HDEL', k.view, unpack(emptied)) end
  return result, refused, any_purchase
end

-- Cuts the given timeline entries down to their headers; a value without a
-- header (not written by these scripts) is left as it is rather than fail
-- after the writes before it.
local function tombstone(k, members)
  for _, member in ipairs(members) do
    local value = redis.call('HGET', k.events, member)
    local header = value and string.match(value, HEADER)
    if header then redis.call('HSET', k.events, member, header) end
  end
  return #members
end

-- Retention's arguments are checked before the first write: trim() runs
-- after the event is stored and must not fail then.
local function check_retention(max_events, oldest_kept)
  if not string.find(max_events, '^%-?%d+$') or
      not string.find(oldest_kept, '^%-?%d+$') then
    error('retention arguments must be decimals', 0)
  end
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
