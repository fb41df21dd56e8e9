-- Argo CD health of a modelship.dev ModelDeployment, read from the status the operator writes.
-- The one source of this check: config/argocd/argocd-cm.yaml is generated from it (make manifests), and
-- test/gitops runs it through Argo CD's own Lua engine against objects made by the operator's code.
-- Only Lua's base and table libraries are used: Argo CD opens no others unless useOpenLibs is set.
local hs = { status = "Progressing", message = "Waiting for the operator to report a status" }
local st = obj.status
if st == nil then
  return hs
end

-- A status written for an older spec says nothing about the one Argo CD just applied.
local generation = obj.metadata.generation
if generation ~= nil and (st.observedGeneration == nil or st.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = {}
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    conditions[c.type] = c
  end
end
local function isTrue(t)
  return conditions[t] ~= nil and conditions[t].status == "True"
end
local function message(t, fallback)
  if conditions[t] ~= nil and conditions[t].message ~= nil and conditions[t].message ~= "" then
    return conditions[t].message
  end
  return fallback
end

-- Stalled: a revision failed or was rolled back, and nothing more happens until a user acts. A rolled back
-- ModelDeployment serves its stable version, yet the version in Git does not serve: Degraded, as Argo Rollouts
-- reports an aborted rollout.
if isTrue("Stalled") then
  hs.status = "Degraded"
  hs.message = message("Stalled", "A revision failed")
  return hs
end
-- Failing while a rollout is still under way (the live revision crashes during a canary, say): the phase says so.
if st.phase == "Failed" or st.phase == "Degraded" or st.phase == "RolledBack" then
  hs.status = "Degraded"
  hs.message = message("Degraded", "phase " .. st.phase)
  return hs
end
if st.phase == "Paused" then
  hs.status = "Suspended"
  hs.message = message("Progressing", "The canary is paused")
  return hs
end
if isTrue("Progressing") then
  hs.message = message("Progressing", "A new revision is rolling out")
  return hs
end
if isTrue("Ready") then
  hs.status = "Healthy"
  hs.message = message("Ready", "The model serves")
  return hs
end
-- Scaled to zero on purpose (spec.replicas: 0): what Git asks for, as Argo CD judges a Deployment of 0 replicas.
if conditions["Ready"] ~= nil and conditions["Ready"].reason == "ScaledToZero" then
  hs.status = "Healthy"
  hs.message = message("Ready", "Scaled to zero replicas")
  return hs
end
hs.message = message("Ready", hs.message)
return hs
