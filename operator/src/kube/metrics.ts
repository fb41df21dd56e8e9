import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * prom-client refuses to register a metric name twice on one registry, yet the operator runs several
 * informers and queues that share one registry and one metric (told apart by labels). These return the
 * metric already registered under the name, or register a new one. A name already taken by a metric of
 * another type is a programming error and surfaces as a failure on first use.
 */
export function counterOn<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Counter<L>;
  return new Counter({ ...config, registers: [registry] });
}

/** The gauge registered under `config.name`, registering it first if needed (see counterOn). */
export function gaugeOn<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): Gauge<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ ...config, registers: [registry] });
}

/** The histogram registered under `config.name`, registering it first if needed (see counterOn). */
export function histogramOn<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[]; buckets: number[] },
): Histogram<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ ...config, registers: [registry] });
}
