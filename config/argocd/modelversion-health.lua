-- Argo CD health of a modelship.dev ModelVersion (a version a retraining run produced), read from the status the
-- operator writes. config/argocd/argocd-cm.yaml is generated from it (make manifests); test/gitops runs it through
-- Argo CD's own Lua engine against objects made by the operator's code. Base and table libraries only.
local hs = { status = "Progressing", message = "Registered; waiting for validation" }
local st = obj.status
if st == nil or st.phase == nil then
  return hs
end
local last = nil
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Accepted" then
      last = c.message
    end
  end
end
local function say(status, fallback)
  hs.status = status
  if last ~= nil and last ~= "" then
    hs.message = last
  else
    hs.message = fallback
  end
  return hs
end
-- Rejected by its run, validation, the quality gate or a canary: it never serves, and the message says why.
if st.phase == "Rejected" then
  return say("Degraded", "Rejected")
end
-- Approved, waiting for `kubectl modelship promote` (promotion mode Manual).
if st.phase == "Approved" then
  return say("Suspended", "Approved; waiting to be promoted")
end
if st.phase == "Stable" then
  return say("Healthy", "Serving")
end
-- Replaced by a newer version: done, as a finished Job is.
if st.phase == "Retired" then
  return say("Healthy", "Retired")
end
-- Candidate, Validating, Canary.
return say("Progressing", st.phase)
