/**
 * The router's route table: the contract between the operator, which writes it into the router's ConfigMap, and
 * the router, which reads it. Keep it free of imports and of I/O; parseRoutes refuses anything malformed, so a bad
 * table is never half-applied (the router keeps the last good one).
 */

/** The ConfigMap key that holds the table, as JSON. */
export const ROUTES_KEY = 'routes.json';

export interface Backend {
  /** The revision this backend serves (the x-modelship-revision response header, the metrics' label). */
  revision: string;
  /** Base URL of the revision's Service, e.g. http://iris-abc.ml.svc.cluster.local:80 */
  url: string;
  /** Share of the traffic, 0-100; the weights of a table add up to 100. */
  weight: number;
}

export interface HeaderRoute {
  /** Lowercase header name. */
  header: string;
  value: string;
  /** The backend (by revision) a matching request goes to, whatever the weights. */
  revision: string;
}

export interface RouteTable {
  backends: Backend[];
  matches: HeaderRoute[];
}

/** Reads and checks a table; throws an Error that says what is wrong. */
export function parseRoutes(text: string): RouteTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`the route table is not JSON: ${(err as Error).message}`);
  }
  const t = raw as Partial<RouteTable>;
  if (!t || typeof t !== 'object' || !Array.isArray(t.backends) || t.backends.length === 0)
    throw new Error('the route table needs a non-empty backends list');
  const revisions = new Set<string>();
  let total = 0;
  for (const b of t.backends) {
    if (typeof b?.revision !== 'string' || b.revision === '') throw new Error('a backend has no revision');
    if (typeof b.url !== 'string' || !/^https?:\/\/[^/]+$/.test(b.url))
      throw new Error(
        `backend ${b.revision}: url must be http(s)://host[:port], got ${JSON.stringify(b.url)}`,
      );
    if (!Number.isInteger(b.weight) || b.weight < 0 || b.weight > 100)
      throw new Error(`backend ${b.revision}: weight must be an integer from 0 to 100`);
    if (revisions.has(b.revision)) throw new Error(`backend ${b.revision} appears twice`);
    revisions.add(b.revision);
    total += b.weight;
  }
  if (total !== 100) throw new Error(`the weights add up to ${total}, not 100`);
  const matches = t.matches ?? [];
  if (!Array.isArray(matches)) throw new Error('matches must be a list');
  for (const m of matches) {
    if (typeof m?.header !== 'string' || m.header === '' || m.header !== m.header.toLowerCase())
      throw new Error('a match needs a lowercase header name');
    if (typeof m.value !== 'string') throw new Error(`match on ${m.header}: value must be a string`);
    if (!revisions.has(m.revision)) throw new Error(`match on ${m.header}: no backend ${m.revision}`);
  }
  return { backends: t.backends, matches };
}
