/**
 * The seam between the inference path and what watches it (input drift, ground-truth feedback, payload logs):
 * every answered inference request becomes one InferenceRecord handed to the observers after its answer is
 * written. Observers must return at once and do their work later (a queue drained on setImmediate): nothing here
 * may add latency to an answer or fail one. The tensors are the request's and the result's own (no copies); an
 * observer that keeps them past its next tick keeps their memory alive, so bounded stores copy what they keep.
 */
import type { Tensor } from '../protocol/v2/types.js';

export interface InferenceRecord {
  /** The x-request-id of the exchange (the client's, else generated): what feedback refers to. */
  requestId: string;
  /** The protocol request's own `id`, when it had one. */
  protocolId?: string;
  model: string;
  version: string;
  /** Wall-clock time the request arrived, ms since the epoch. */
  time: number;
  latencyMs: number;
  /** The HTTP status answered. */
  status: number;
  /** Decoded inputs; absent when the request could not be decoded. */
  inputs?: readonly Tensor[];
  /** The outputs answered (only the requested ones); absent on failure. */
  outputs?: readonly Tensor[];
  /** Why the request failed, for a failed one. */
  error?: string;
  /** Who called, when the request was authenticated. */
  caller?: string;
}

export interface InferenceObserver {
  observe(record: InferenceRecord): void;
  /**
   * False for an observer that never reads `inputs` (ground-truth feedback reads the outputs only): when no
   * observer reads them, the inputs need not be kept readable after the run (main.ts: keepInputs), saving a copy
   * per request. Absent means true.
   */
  readonly readsInputs?: boolean;
}

/** Several observers as one; an observer that throws is reported to onError and never reaches the request. */
export function observeAll(
  observers: readonly InferenceObserver[],
  onError: (err: unknown) => void,
): InferenceObserver | undefined {
  if (observers.length === 0) return undefined;
  if (observers.length === 1) {
    const [only] = observers;
    return {
      observe(record) {
        try {
          only!.observe(record);
        } catch (err) {
          onError(err);
        }
      },
    };
  }
  return {
    observe(record) {
      for (const o of observers) {
        try {
          o.observe(record);
        } catch (err) {
          onError(err);
        }
      }
    },
  };
}
