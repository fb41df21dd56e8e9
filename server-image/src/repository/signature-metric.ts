/**
 * `modelship_model_signature_verified{model,version}`: 1 once the model's signature verified, 0 while it has not
 * (loading) or after it failed. Only present when a signature is required, so "no series" means "not checked".
 * In its own module, registered on the server's registry the first time it is needed.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ModelLabels } from '../metrics.js';

const NAME = 'modelship_model_signature_verified';

export function signatureVerifiedGauge(registry: Registry): {
  set(labels: ModelLabels, verified: boolean): void;
} {
  const gauge =
    (registry.getSingleMetric(NAME) as Gauge<'model' | 'version'> | undefined) ??
    new Gauge({
      name: NAME,
      help: "1 when the model file's signature verified against the configured public key, else 0 (present only when a signature is required)",
      labelNames: ['model', 'version'],
      registers: [registry],
    });
  return { set: (m, verified) => gauge.labels(m.model, m.version).set(verified ? 1 : 0) };
}
