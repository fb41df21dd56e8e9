/**
 * Argo CD's health check of ModelDeployments as an argocd-cm ConfigMap, built from the one Lua source
 * (config/argocd/modeldeployment-health.lua). Argo CD reads `resource.customizations.health.<group>_<kind>` from
 * argocd-cm, and only from a ConfigMap labelled app.kubernetes.io/part-of: argocd, so both are part of the snippet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelVersionKind } from '../operator/src/api/v1alpha1/model-version.js';
import { group, kind } from '../operator/src/api/v1alpha1/schema.js';

export const healthLuaFile = 'config/argocd/modeldeployment-health.lua';
export const versionHealthLuaFile = 'config/argocd/modelversion-health.lua';
export const argocdCmFile = 'config/argocd/argocd-cm.yaml';
export const healthKey = `resource.customizations.health.${group}_${kind}`;
export const versionHealthKey = `resource.customizations.health.${group}_${modelVersionKind}`;

export function argocdCm(root: string): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'argocd-cm',
      namespace: 'argocd',
      labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
    },
    data: {
      [healthKey]: readFileSync(join(root, healthLuaFile), 'utf8'),
      [versionHealthKey]: readFileSync(join(root, versionHealthLuaFile), 'utf8'),
    },
  };
}
