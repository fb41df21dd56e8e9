/** A short hash of a spec.model: what status.model records, and the name of its ModelVersion. Pure. */
import { createHash } from 'node:crypto';
import type { ModelSpec } from '../api/v1alpha1/schema.js';
import { canonicalJson } from '../util/canonical-json.js';

export function specModelHash(model: ModelSpec): string {
  return createHash('sha256').update(canonicalJson(model)).digest('hex').slice(0, 16);
}
