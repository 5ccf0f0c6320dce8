-- Shared by the scripts that attach identities to a customer (ingest_event,
-- attach_identities); CMake puts this text in front of them.
--
-- Identities attached to the view are no longer only claimed: their records
-- go (see record_claims.lua). The rest stay recorded until the identities are
-- freed. The customer exists from now on, so the records that are left no
-- longer expire.
local function confirm_claims(claims_key, members, refused)
  -- Most customers have no records: one call finds that.
  if #members == 0 or redis.call('EXISTS', claims_key) == 0 then return end
  local kept = {}
  for _, member in ipairs(refused) do kept[member] = true end
  local attached = {}
  for _, member in ipairs(members) do
    if not kept[member] then attached[#attached + 1] = member end
  end
  if #attached > 0 then redis.call('SREM', claims_key, unpack(attached)) end
  redis.call('PERSIST', claims_key)
end
