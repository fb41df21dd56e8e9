/**
 * Pure rules of Lease-based leader election, as client-go's tools/leaderelection applies them. No I/O and
 * no clock: times are passed in.
 */

/** The election fields of a coordination.k8s.io/v1 Lease spec. */
export interface LeaseRecord {
  /** '' when nobody holds the lease (never acquired, or released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/** The parts of a Lease object this module reads and writes (plain API JSON). */
export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: Partial<LeaseRecord> & Record<string, unknown>;
}

/** Reads the record from a Lease; missing fields read as "no holder", 0 transitions. */
export function recordOf(lease: LeaseObject): LeaseRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: s.acquireTime,
    renewTime: s.renewTime,
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

/** True when two records are identical: a renewal changes renewTime, so "unchanged" means "not renewed". */
export function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/**
 * Whether `identity` may write itself as holder now. Yes when nobody holds the lease, when it holds it
 * already, or when the holder's record has not changed for leaseDurationSeconds as seen by *this* process:
 * `observedAtMs` is when we last saw the record change, on our own clock. The holder's renewTime is never
 * compared with our clock, so clock skew between nodes does not matter.
 *
 * Example: we saw a new renewTime at t=100 000 ms, leaseDurationSeconds is 15: another holder keeps the
 * lease until t=115 000, and at t=115 000 we may take it over.
 */
export function mayAcquire(
  record: LeaseRecord,
  identity: string,
  observedAtMs: number,
  nowMs: number,
): boolean {
  if (record.holderIdentity === '' || record.holderIdentity === identity) return true;
  return nowMs >= observedAtMs + record.leaseDurationSeconds * 1000;
}

/**
 * The record `identity` writes to acquire or renew. Renewing keeps acquireTime and leaseTransitions;
 * taking over from anyone else (or from nobody) counts one more transition, as client-go does.
 */
export function nextRecord(
  old: LeaseRecord | undefined,
  identity: string,
  leaseDurationSeconds: number,
  nowIso: string,
): LeaseRecord {
  const renewing = old !== undefined && old.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing ? (old.acquireTime ?? nowIso) : nowIso,
    renewTime: nowIso,
    leaseTransitions: old === undefined ? 0 : renewing ? old.leaseTransitions : old.leaseTransitions + 1,
  };
}

/**
 * The record a holder writes to give the lease up: no holder, and a 1 s duration so that even a candidate
 * that does not treat an empty holder as free takes over almost at once.
 */
export function releasedRecord(old: LeaseRecord, nowIso: string): LeaseRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: nowIso,
    renewTime: nowIso,
    leaseTransitions: old.leaseTransitions,
  };
}

/** A Kubernetes MicroTime: RFC 3339 with exactly six fractional digits, in UTC (2024-05-01T10:00:00.123000Z). */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
