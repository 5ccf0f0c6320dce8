-- Stores one interaction event on one customer, folds it into the single
-- view and attaches the event's new identities, in one atomic step.
--
-- KEYS[1] events hash   KEYS[2] timeline zset   KEYS[3] view hash
-- KEYS[4] claims set (identities claimed for the customer, see
--         record_claims.lua)
-- ARGV[1] event_id      ARGV[2] stored value (header .. payload)
-- ARGV[3] now (us)      ARGV[4] most events kept (0: no limit)
-- ARGV[5] drop events that occurred before this (us; '0': keep all)
-- ARGV[6] per-kind identity limits, "kind=n,..."
-- ARGV[7] '1': keep purchase days for the insights; '0': not (benchmarks)
-- ARGV[8] one character per identity that follows: 'u' when the event only
--          claims it (v1::Identity.unverified), else '1'
-- ARGV[9..] identities ("kind:value") to attach to the customer: those
--          claimed for it and every other one whose key names it
--
-- Returns {'moved', customer} when this customer was merged into another
-- ('-': it is being erased) and nothing was written; {'rejected', field,
-- reason} when storing the event would take a total of the view beyond 64
-- bits (e.g. the customer's value in a currency), and nothing was written;
-- else {result, trimmed,
-- purchase, refused identity...}, result being 'accepted', 'updated' or
-- 'duplicate', purchase 1 when the event is or was a purchase (the
-- customer's lifecycle is to be brought up to date; also for a duplicate, so
-- a resend after a crash finishes that), else 0. A duplicate still attaches
-- its identities: they are this customer's.

local k = {events = KEYS[1], timeline = KEYS[2], view = KEYS[3]}
local id, stored, now = ARGV[1], ARGV[2], ARGV[3]
check_retention(ARGV[4], ARGV[5])
local members, claims = {}, {}
for i = 9, #ARGV do
  members[#members + 1] = ARGV[i]
  if string.sub(ARGV[8], i - 8, i - 8) == 'u' then claims[ARGV[i]] = true end
end
local result, refused, purchase =
    put_event(k, id, stored, now, members, ARGV[6], ARGV[7] == '1', claims)
if result == 'moved' then return {'moved', refused} end
-- Rejected: the other two results are the field at fault and why.
if result == 'rejected' then return {'rejected', refused, purchase} end
if not refused then
  refused = {}
  if #members > 0 then refused = attach(k, members, ARGV[6], claims, true) end
end
confirm_claims(KEYS[4], members, refused)
local trimmed = 0
if result ~= 'duplicate' then trimmed = trim(k, tonumber(ARGV[4]), ARGV[5]) end

local reply = {result, trimmed, purchase and 1 or 0}
for _, member in ipairs(refused) do reply[#reply + 1] = member end
return reply
