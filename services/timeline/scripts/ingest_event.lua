-- Stores one interaction event on one customer and folds it into that
-- customer's single view, in one atomic step.
--
-- KEYS[1] events hash   event_id -> stored value (header .. payload)
-- KEYS[2] timeline zset  event_id scored by occurred_at (microseconds)
-- KEYS[3] view hash      the single view's aggregates
-- KEYS[4] identity set   "kind:value" of every identity on the customer
--
-- ARGV[1] event_id        ARGV[2] header         ARGV[3] payload
-- ARGV[4] revision (20 zero-padded digits, so string order is number order)
-- ARGV[5] occurred_at us  ARGV[6] channel        ARGV[7] currency or ""
-- ARGV[8] amount micros   ARGV[9] satisfaction in thousandths or ""
-- ARGV[10] now us         ARGV[11] max events kept (0: no limit)
-- ARGV[12] drop events that occurred before this (us; 0: keep all)
-- ARGV[13..] identities to record on the customer
--
-- A stored value starts with the header
--   revision|occurred_us|channel|kind|currency|amount_micros|satisfaction_milli|
-- so this script can take an old revision's contribution out of the view, and
-- the read script can filter, without decoding the protobuf payload. Trimmed
-- events keep their header (no payload): the view still counts them and a
-- replay is still recognised as a duplicate.
--
-- Returns {result, trimmed}: result is "accepted", "updated" or "duplicate".

local events, timeline, view, identities = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, header, payload, revision = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local occurred, channel = tonumber(ARGV[5]), ARGV[6]
local currency, amount, satisfaction = ARGV[7], ARGV[8], ARGV[9]
local now = ARGV[10]
local max_events, oldest_kept = tonumber(ARGV[11]), tonumber(ARGV[12])

-- The header's fields, and the header as a whole.
local HEADER_FIELDS = '^(%d+)|(%d+)|(%d+)|(%d+)|(%u*)|(%-?%d*)|(%d*)|'
local HEADER = '^(%d+|%d+|%d+|%d+|%u*|%-?%d*|%d*|)'

-- Amounts stay strings so HINCRBY sees exact 64-bit integers.
local function negated(number)
  if string.sub(number, 1, 1) == '-' then return string.sub(number, 2) end
  return '-' .. number
end

local function contribute(sign, event_channel, event_currency, event_amount,
                          event_satisfaction)
  redis.call('HINCRBY', view, 'total', sign)
  redis.call('HINCRBY', view, 'n:' .. event_channel, sign)
  if event_currency ~= '' then
    local delta = event_amount
    if sign < 0 then delta = negated(event_amount) end
    redis.call('HINCRBY', view, 'val:' .. event_currency, delta)
  end
  if event_satisfaction ~= '' then
    local delta = event_satisfaction
    if sign < 0 then delta = negated(event_satisfaction) end
    redis.call('HINCRBY', view, 'sat_sum', delta)
    redis.call('HINCRBY', view, 'sat_n', sign)
  end
end

local function raise_to(field, value)
  local current = tonumber(redis.call('HGET', view, field))
  if not current or value > current then
    redis.call('HSET', view, field, value)
  end
end

local function lower_to(field, value)
  local current = tonumber(redis.call('HGET', view, field))
  if not current or value < current then
    redis.call('HSET', view, field, value)
  end
end

local result = 'accepted'
local old = redis.call('HGET', events, id)
if old then
  local old_revision, _, old_channel, _, old_currency, old_amount,
        old_satisfaction = string.match(old, HEADER_FIELDS)
  if revision <= old_revision then return {'duplicate', 0} end
  contribute(-1, old_channel, old_currency, old_amount, old_satisfaction)
  redis.call('ZREM', timeline, id)
  result = 'updated'
end

local stored = header .. payload
redis.call('HSET', events, id, stored)
redis.call('ZADD', timeline, occurred, id)
contribute(1, channel, currency, amount, satisfaction)
lower_to('first', occurred)
raise_to('last', occurred)
raise_to('t:' .. channel, occurred)
redis.call('HSETNX', view, 'created', now)
for i = 13, #ARGV do redis.call('SADD', identities, ARGV[i]) end

-- The most recent interaction is kept whole in the view, so it survives
-- trimming. Ties on time go to the larger event id, as on the timeline.
local recent_id = redis.call('HGET', view, 'recent_id')
local recent_at = tonumber(redis.call('HGET', view, 'recent_at'))
if not recent_id or occurred > recent_at or
    (occurred == recent_at and id > recent_id) then
  redis.call('HSET', view, 'recent_id', id, 'recent_at', occurred,
             'recent', stored)
elseif recent_id == id then
  -- A new revision of the most recent event; if it moved back in time,
  -- another event may now be the most recent.
  local top = redis.call('ZREVRANGE', timeline, 0, 0, 'WITHSCORES')
  local top_value = redis.call('HGET', events, top[1])
  redis.call('HSET', view, 'recent_id', top[1], 'recent_at', top[2],
             'recent', top_value)
end

local function tombstone(members)
  for _, member in ipairs(members) do
    local value = redis.call('HGET', events, member)
    if value then
      redis.call('HSET', events, member, string.match(value, HEADER))
    end
  end
  return #members
end

local trimmed = 0
if max_events > 0 then
  local excess = redis.call('ZCARD', timeline) - max_events
  if excess > 0 then
    trimmed = trimmed + tombstone(redis.call('ZRANGE', timeline, 0, excess - 1))
    redis.call('ZREMRANGEBYRANK', timeline, 0, excess - 1)
  end
end
if oldest_kept > 0 then
  local bound = '(' .. oldest_kept
  trimmed = trimmed + tombstone(
      redis.call('ZRANGEBYSCORE', timeline, '-inf', bound))
  redis.call('ZREMRANGEBYSCORE', timeline, '-inf', bound)
end

return {result, trimmed}
