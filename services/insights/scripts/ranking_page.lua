-- One ranking shard's entries after a cursor, in the ranking's order: value
-- descending, then customer id descending (the sorted set's reverse order),
-- so that a page goes on exactly after the last entry of the one before,
-- whatever was added or removed meanwhile.
--
-- KEYS[1] the shard
-- ARGV[1] the cursor's value (an integer, micros)   ARGV[2] its customer id
-- ARGV[3] entries wanted
-- Returns {customer, value, customer, value, ...}.

local key, value, id = KEYS[1], ARGV[1], ARGV[2]
-- Byte order, as the sorted set orders its members (Lua's own < follows
-- the locale's collation).
local function below(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local count = tonumber(ARGV[3])
-- Reverse ranks [first, first + ties) hold the entries of the cursor's value,
-- ids descending: skip those at or above the cursor's id (binary search).
local lo = redis.call('ZCOUNT', key, '(' .. value, '+inf')
local hi = lo + redis.call('ZCOUNT', key, value, value)
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if not below(redis.call('ZREVRANGE', key, mid, mid)[1], id) then
    lo = mid + 1
  else
    hi = mid
  end
end
return redis.call('ZREVRANGE', key, lo, lo + count - 1, 'WITHSCORES')
