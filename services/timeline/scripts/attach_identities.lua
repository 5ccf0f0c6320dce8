-- Attaches identities to a customer without an event (LinkIdentities), and
-- makes the customer exist when it has nothing yet.
--
-- KEYS[1] view hash   KEYS[2] claims set (see record_claims.lua)
-- ARGV[1] now (us)       ARGV[2] per-kind identity limits, "kind=n,..."
-- ARGV[3..] identities ("kind:value"); none when the link named only
--          identities known already
--
-- Returns {'moved', customer} as ingest_event does, else {'ok', refused...}.

local k = {view = KEYS[1]}
local alias = moved_to(KEYS[1])
if alias then return {'moved', alias} end
local members = {}
for i = 3, #ARGV do members[#members + 1] = ARGV[i] end
-- A link is a trusted statement: identities held by a claim become verified.
local refused = attach(k, members, ARGV[2], nil, true)
ensure_created(k, ARGV[1])
confirm_claims(KEYS[2], members, refused)
local reply = {'ok'}
for _, member in ipairs(refused) do reply[#reply + 1] = member end
return reply
