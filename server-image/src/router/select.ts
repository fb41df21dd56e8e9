/**
 * Which backend a request goes to: a header match first (the canary, whatever its weight), else a weighted random
 * choice. Pure: the random source is injected.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { resolveShadow, type Backend, type RouteTable, type ShadowTarget } from './routes.js';

/** A route table prepared for choosing: cumulative weights, backends by revision. */
export interface CompiledTable {
  table: RouteTable;
  /** Backends with a weight above 0 and the cumulative weight at their end, in table order. */
  cumulative: { backend: Backend; upTo: number }[];
  byRevision: Map<string, Backend>;
  /** The revision that gets mirrored requests, with its defaults filled in. */
  shadow?: ShadowTarget;
}

export function compile(table: RouteTable): CompiledTable {
  const cumulative: CompiledTable['cumulative'] = [];
  let upTo = 0;
  for (const backend of table.backends) {
    if (backend.weight <= 0) continue;
    upTo += backend.weight;
    cumulative.push({ backend, upTo });
  }
  return {
    table,
    cumulative,
    byRevision: new Map(table.backends.map((b) => [b.revision, b])),
    shadow: table.shadow && resolveShadow(table.shadow),
  };
}

/**
 * The backend for a request. `random` returns a number in [0, 1). With weights 90/10, random() < 0.9 picks the
 * first backend. A header named by several matches takes the first match whose value equals it.
 */
export function choose(t: CompiledTable, headers: IncomingHttpHeaders, random: () => number): Backend {
  for (const m of t.table.matches) {
    const value = headers[m.header];
    if (value === m.value || (Array.isArray(value) && value.includes(m.value)))
      return t.byRevision.get(m.revision)!;
  }
  const point = random() * 100;
  for (const c of t.cumulative) if (point < c.upTo) return c.backend;
  return t.cumulative.at(-1)!.backend;
}
