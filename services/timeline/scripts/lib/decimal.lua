-- Exact 64-bit integer arithmetic on decimal strings. Lua's numbers are
-- doubles, exact only to 2^53, while amounts in micros reach 10^18 and Redis
-- keeps them as signed 64-bit integers: a sum is done on two limbs of nine
-- digits each (every partial result stays far below 2^53), and one that
-- leaves the 64-bit range is reported instead of written, so nothing Redis
-- or the readers parse can overflow.

local LIMB = 1000000000
-- 2^63 - 1 = 9223372036 * LIMB + 854775807; the minimum is one lower.
local MAX_HIGH, MAX_LOW = 9223372036, 854775807

-- A decimal string ("-12", "0", "900") as high and low limbs of the same
-- sign; nil when it is not a decimal of at most 19 digits.
local function decimal_limbs(text)
  if type(text) ~= 'string' then return nil end
  local sign, digits = string.match(text, '^(%-?)(%d+)$')
  if not digits then return nil end
  digits = string.match(digits, '^0*(%d-)$')
  if #digits > 19 then return nil end
  local n = #digits
  local low, high = 0, 0
  if n > 0 then low = tonumber(string.sub(digits, math.max(1, n - 8))) end
  if n > 9 then high = tonumber(string.sub(digits, 1, n - 9)) end
  if sign == '-' then return -high, -low end
  return high, low
end

-- Decimals of at most 15 digits, whose sums Lua's doubles hold exactly:
-- almost every count and amount, summed without the limbs.
local function is_small_decimal(text)
  return type(text) == 'string' and #text <= 15 and
      string.find(text, '^%-?%d+$') ~= nil
end

-- Whether `text` is a decimal within the signed 64-bit range.
local function is_int64(text)
  if is_small_decimal(text) then return true end
  local high, low = decimal_limbs(text)
  if not high then return false end
  if high > MAX_HIGH or (high == MAX_HIGH and low > MAX_LOW) then
    return false
  end
  return not (high < -MAX_HIGH or (high == -MAX_HIGH and low < -MAX_LOW - 1))
end

-- a + b for decimal strings within the 64-bit range: the sum as a decimal
-- string, or nil when it leaves that range (or an operand is no decimal).
local function add_int64(a, b)
  if is_small_decimal(a) and is_small_decimal(b) then
    return string.format('%d', tonumber(a) + tonumber(b))
  end
  local a_high, a_low = decimal_limbs(a)
  local b_high, b_low = decimal_limbs(b)
  if not a_high or not b_high then return nil end
  local high, low = a_high + b_high, a_low + b_low
  if low >= LIMB then
    high, low = high + 1, low - LIMB
  elseif low <= -LIMB then
    high, low = high - 1, low + LIMB
  end
  -- Both limbs of one sign, so the digits can be written side by side.
  if high > 0 and low < 0 then
    high, low = high - 1, low + LIMB
  elseif high < 0 and low > 0 then
    high, low = high + 1, low - LIMB
  end
  if high > MAX_HIGH or (high == MAX_HIGH and low > MAX_LOW) then
    return nil
  end
  if high < -MAX_HIGH or (high == -MAX_HIGH and low < -MAX_LOW - 1) then
    return nil
  end
  if high == 0 then return string.format('%d', low) end
  local sign = ''
  if high < 0 then sign = '-' end
  return sign .. string.format('%d', math.abs(high)) ..
      string.format('%09d', math.abs(low))
end
