/**
 * The models this server serves, by name and version, with their lifecycle (lifecycle.ts). The server serves one
 * model today; the registry keeps the protocol's multi-model shape so the endpoints and errors are the protocol's.
 */
import type { ModelRunner } from '../batcher/runner.js';
import { InferenceError, notFound } from '../protocol/v2/errors.js';
import type { ModelSignature } from '../protocol/v2/types.js';
import type { ModelStatistics } from '../statistics.js';
import type { ModelLifecycle } from './lifecycle.js';

/** What a loaded model serves with: set once, when it becomes ready. */
export interface Serving {
  readonly entry: ModelEntry;
  runner: ModelRunner;
  signature: ModelSignature;
  /** Every input and output has a dynamic first dimension: requests may share an execution. */
  batchable: boolean;
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

export interface ModelEntry {
  readonly name: string;
  readonly version: string;
  readonly stats: ModelStatistics;
  readonly lifecycle: ModelLifecycle<Serving>;
  /** The model card (--model-card), served in the model's metadata as parameters.model_card. */
  readonly card?: Readonly<Record<string, unknown>>;
}

export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();

  add(entry: ModelEntry): void {
    this.entries.set(entry.name, entry);
  }

  all(): ModelEntry[] {
    return [...this.entries.values()];
  }

  /** The entry for a name, whatever its state; undefined when there is none. */
  find(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** The entry for a name (and version, when given); a 404 InferenceError when there is none. */
  lookup(name: string, version?: string): ModelEntry {
    const entry = this.entries.get(name);
    if (!entry) throw notFound(`model '${name}' is not served here`);
    if (version !== undefined && version !== entry.version)
      throw notFound(
        `model '${name}' has no version '${version}'; this server serves version '${entry.version}'`,
      );
    return entry;
  }

  /**
   * The model if it takes requests: ready, or draining after having been ready (requests on open connections are
   * still answered). A 503 InferenceError saying why not otherwise.
   */
  serving(name: string, version?: string): Serving {
    const entry = this.lookup(name, version);
    const state = entry.lifecycle.state;
    if ((state.phase === 'ready' || state.phase === 'draining') && state.serving) return state.serving;
    throw new InferenceError('unavailable', notReadyMessage(entry), 'not_ready', 5);
  }
}

/** Why a model is not ready, for the ready endpoints' error body and the inference 503s. */
export function notReadyMessage(entry: ModelEntry): string {
  const s = entry.lifecycle.state;
  const model = `model '${entry.name}'`;
  switch (s.phase) {
    case 'ready':
      return `${model} is ready`;
    case 'loading':
      return s.lastError
        ? `${model} is not ready: loading (attempt ${s.attempt}); the previous attempt failed: ${s.lastError}`
        : `${model} is not ready: loading (attempt ${s.attempt})`;
    case 'draining':
    case 'stopped':
      return `${model} is not ready: the server is shutting down`;
    case 'failed':
      return s.while === 'loading'
        ? `${model} failed to load: ${s.error}`
        : `${model} can no longer serve: ${s.error}`;
  }
}
