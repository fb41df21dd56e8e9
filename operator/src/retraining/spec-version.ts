/** The name of the ModelVersion that records a ModelDeployment's own spec.model (source Spec). Pure. */
import type { ModelSpec } from '../api/v1alpha1/schema.js';
import { specModelHash } from './spec-hash.js';

/** `<name>-spec-<hash of spec.model>`, within a name's 63 characters. */
export function specVersionName(deployment: string, model: ModelSpec): string {
  return `${deployment.slice(0, 45).replace(/-+$/, '')}-spec-${specModelHash(model).slice(0, 10)}`;
}
