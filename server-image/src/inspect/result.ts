/**
 * What `modelship-server inspect` reports, and the termination-message form of it. Pure.
 *
 * Kubernetes keeps at most 4096 bytes of a container's termination message and cuts the rest, which would leave
 * the operator unparseable JSON. fitTerminationMessage shrinks the result instead, least important first, and
 * always returns complete JSON within the limit, marked `"truncated": true` when anything was left out:
 *   success: signature outputs from the end, then inputs (`signature.inputCount`/`outputCount` keep the totals),
 *            then the holdout output's name, then everything but ok, sha256 and the holdout score;
 *   failure: the end of `reason`.
 */
import type { TensorSpec } from '../protocol/v2/types.js';
import type { HoldoutScore } from './holdout.js';

/** Kubernetes' limit on one container's termination message (bytes). */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** Where the inspection was: loading the model (fetch, session, warm-up) or scoring the holdout. */
export type InspectStage = 'model' | 'holdout';

export interface InspectSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Only when the lists were cut: how many there are. */
  inputCount?: number;
  outputCount?: number;
}

export interface InspectSuccess {
  ok: true;
  /** As the server's `GET /v2/models/{m}` reports it: V2 datatypes, dynamic dimensions -1. */
  signature: InspectSignature;
  /** Hex sha256 of the bytes the session was created from. */
  sha256: string;
  bytes: number;
  loadMs: number;
  warmupMs: number;
  holdout?: HoldoutScore;
  truncated?: true;
}

export interface InspectFailure {
  ok: false;
  stage: InspectStage;
  /** For programs: a fetch reason (`checksum_mismatch`, `digest_required`, `not_found`, ...), `signature_invalid`,
   * `invalid_model`, `warmup_failed`, `invalid_holdout`, `holdout_run_failed`, `deadline_exceeded`, `terminated`
   * or `internal_error`. */
  code: string;
  /** For people: what is wrong. */
  reason: string;
  truncated?: true;
}

export type InspectResult = InspectSuccess | InspectFailure;

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The result as JSON of at most `limit` UTF-8 bytes (limit >= 256). */
export function fitTerminationMessage(result: InspectResult, limit = TERMINATION_MESSAGE_LIMIT): string {
  if (limit < 256) throw new RangeError(`fitTerminationMessage: limit must be >= 256, got ${limit}`);
  const fitted = result.ok ? fitSuccess(result, limit) : fitFailure(result, limit);
  return JSON.stringify(fitted);
}

function fitSuccess(r: InspectSuccess, limit: number): InspectSuccess {
  if (bytesOf(r) <= limit) return r;
  const { inputs, outputs } = r.signature;
  const cut = (i: number, o: number): InspectSuccess => ({
    ...r,
    signature: {
      inputs: inputs.slice(0, i),
      outputs: outputs.slice(0, o),
      inputCount: inputs.length,
      outputCount: outputs.length,
    },
    truncated: true,
  });
  // Sizes grow with the number of entries kept: binary search the most that fit (outputs go first).
  if (bytesOf(cut(inputs.length, 0)) <= limit)
    return cut(
      inputs.length,
      largest(outputs.length, (o) => bytesOf(cut(inputs.length, o)) <= limit),
    );
  if (bytesOf(cut(0, 0)) <= limit)
    return cut(
      largest(inputs.length, (i) => bytesOf(cut(i, 0)) <= limit),
      0,
    );
  // With the signature lists empty it still does not fit: only an enormous holdout output name does that.
  const bare = cut(0, 0);
  if (bare.holdout) {
    const { output: _name, ...score } = bare.holdout;
    const unnamed = { ...bare, holdout: score as HoldoutScore };
    if (bytesOf(unnamed) <= limit) return unnamed;
  }
  // A safety net for limits barely above the minimum: the verdict and the digest always fit.
  return { ok: true, sha256: r.sha256, truncated: true } as InspectSuccess;
}

function fitFailure(r: InspectFailure, limit: number): InspectFailure {
  if (bytesOf(r) <= limit) return r;
  // Cut by code points, not UTF-16 units or bytes, so no character is split. stage and code are short (ours).
  const chars = Array.from(r.reason);
  const cut = (n: number): InspectFailure => ({
    ...r,
    reason: `${chars.slice(0, n).join('')}…`,
    truncated: true,
  });
  return cut(largest(chars.length, (n) => bytesOf(cut(n)) <= limit));
}

/** The largest n in [0, max] with fits(n), for a monotone `fits` with fits(0) true. */
function largest(max: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
