-- Lua compares strings with the C library's collation, which follows the
-- Redis server's locale; sorted sets order members by bytes. Every order
-- these scripts decide (revisions, ties between event ids) is by bytes too.
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
