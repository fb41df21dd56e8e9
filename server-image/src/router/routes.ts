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
  /**
   * For an https:// url: the name the backend's certificate must carry (default: the url's host), e.g. the
   * ModelDeployment's stable Service name `<name>.<namespace>.svc` when the url names a revision's own Service.
   */
  serverName?: string;
}

export interface HeaderRoute {
  /** Lowercase header name. */
  header: string;
  value: string;
  /** The backend (by revision) a matching request goes to, whatever the weights. */
  revision: string;
}

/**
 * A revision that gets a mirrored copy of live inference requests and never answers a client: the router compares
 * its answers with the live ones and counts agreement (modelship_router_shadow_requests_total). It may also be
 * listed in `backends`, with weight 0 and the same url only (so that a header match can still reach it on
 * purpose); a request that a header match sends to it live is not mirrored.
 */
export interface ShadowRoute {
  revision: string;
  /** Base URL of the revision's Service, as for a backend. */
  url: string;
  /** For an https:// url: the name its certificate must carry, as for a backend. */
  serverName?: string;
  /**
   * How far numbers may differ and still agree, elementwise: |shadow - live| <= absolute + relative * |live|.
   * Class scores (float outputs shaped [N, K], K > 1) are compared by their argmax per row instead.
   */
  tolerance?: { absolute?: number; relative?: number };
  /** Most mirrored requests at once; beyond, a request is not mirrored (counted `skipped`). */
  maxInFlight?: number;
  /** Largest request body mirrored, and largest answer kept for comparison (either beyond: `skipped`). */
  maxBodyBytes?: number;
  /** Longest the shadow may take, from sending the request to the end of its answer (beyond: `error`). */
  timeoutMs?: number;
}

/** A ShadowRoute with every default filled in. */
export interface ShadowTarget {
  revision: string;
  url: string;
  serverName?: string;
  tolerance: { absolute: number; relative: number };
  maxInFlight: number;
  maxBodyBytes: number;
  timeoutMs: number;
}

export const SHADOW_DEFAULTS = {
  tolerance: { absolute: 1e-6, relative: 1e-4 },
  maxInFlight: 64,
  maxBodyBytes: 1 << 20,
  timeoutMs: 10_000,
} as const;

export interface RouteTable {
  backends: Backend[];
  matches: HeaderRoute[];
  shadow?: ShadowRoute;
}

/** The shadow of a (parsed) table with its defaults. */
export function resolveShadow(s: ShadowRoute): ShadowTarget {
  return {
    revision: s.revision,
    url: s.url,
    ...(s.serverName !== undefined ? { serverName: s.serverName } : {}),
    tolerance: {
      absolute: s.tolerance?.absolute ?? SHADOW_DEFAULTS.tolerance.absolute,
      relative: s.tolerance?.relative ?? SHADOW_DEFAULTS.tolerance.relative,
    },
    maxInFlight: s.maxInFlight ?? SHADOW_DEFAULTS.maxInFlight,
    maxBodyBytes: s.maxBodyBytes ?? SHADOW_DEFAULTS.maxBodyBytes,
    timeoutMs: s.timeoutMs ?? SHADOW_DEFAULTS.timeoutMs,
  };
}

const baseUrl = /^https?:\/\/[^/]+$/;
/** A DNS name (RFC 1123 labels): what a certificate's subjectAltName can carry and TLS can send as SNI. */
const dnsName = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function checkServerName(value: unknown, where: string): void {
  if (value !== undefined && (typeof value !== 'string' || !dnsName.test(value)))
    throw new Error(`${where}: serverName must be a DNS name, got ${JSON.stringify(value)}`);
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
    if (typeof b.url !== 'string' || !baseUrl.test(b.url))
      throw new Error(
        `backend ${b.revision}: url must be http(s)://host[:port], got ${JSON.stringify(b.url)}`,
      );
    checkServerName(b.serverName, `backend ${b.revision}`);
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
  if (t.shadow === undefined) return { backends: t.backends, matches };
  checkShadow(t.shadow, t.backends);
  return { backends: t.backends, matches, shadow: t.shadow };
}

function checkShadow(s: ShadowRoute, backends: Backend[]): void {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error('shadow must be an object');
  if (typeof s.revision !== 'string' || s.revision === '') throw new Error('the shadow has no revision');
  const where = `shadow ${s.revision}`;
  if (typeof s.url !== 'string' || !baseUrl.test(s.url))
    throw new Error(`${where}: url must be http(s)://host[:port], got ${JSON.stringify(s.url)}`);
  checkServerName(s.serverName, where);
  const live = backends.find((b) => b.revision === s.revision);
  if (live && live.weight !== 0)
    throw new Error(
      `${where} is also a backend with weight ${live.weight}: a shadow gets mirrored traffic only (weight 0)`,
    );
  if (live && live.url !== s.url)
    throw new Error(`${where}: url ${s.url} differs from its backend's ${live.url}`);
  const tolerance: unknown = s.tolerance;
  if (tolerance !== undefined) {
    if (!tolerance || typeof tolerance !== 'object' || Array.isArray(tolerance))
      throw new Error(`${where}: tolerance must be an object`);
    for (const key of ['absolute', 'relative'] as const) {
      const v: unknown = (tolerance as Record<string, unknown>)[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
        throw new Error(`${where}: tolerance.${key} must be a number >= 0, got ${JSON.stringify(v)}`);
    }
  }
  const positive = (key: 'maxInFlight' | 'maxBodyBytes' | 'timeoutMs') => {
    const v: unknown = s[key];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1))
      throw new Error(`${where}: ${key} must be an integer >= 1, got ${JSON.stringify(v)}`);
  };
  positive('maxInFlight');
  positive('maxBodyBytes');
  positive('timeoutMs');
}
