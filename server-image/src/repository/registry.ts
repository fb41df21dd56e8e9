/**
 * The models this server serves, by name and version, with their load state. The server serves one model today;
 * the registry keeps the protocol's multi-model shape so the endpoints and errors are the protocol's.
 */
import type { ModelRunner } from '../batcher/runner.js';
import { InferenceError, notFound } from '../protocol/v2/errors.js';
import type { ModelSignature } from '../protocol/v2/types.js';
import type { ModelStatistics } from '../statistics.js';

export type LoadState =
  | { phase: 'loading'; attempt: number; lastError?: string }
  | { phase: 'ready' }
  | { phase: 'failed'; error: string };

export interface ModelEntry {
  readonly name: string;
  readonly version: string;
  readonly stats: ModelStatistics;
  state: LoadState;
  signature?: ModelSignature;
  runner?: ModelRunner;
  batchable?: boolean;
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
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

  /** The entry if it is ready; a 503 InferenceError saying why not otherwise. */
  ready(name: string, version?: string): ModelEntry & { runner: ModelRunner; signature: ModelSignature } {
    const entry = this.lookup(name, version);
    if (entry.state.phase === 'ready' && entry.runner && entry.signature)
      return entry as ModelEntry & { runner: ModelRunner; signature: ModelSignature };
    throw new InferenceError('unavailable', notReadyMessage(entry), 'not_ready', 5);
  }
}

/** Why a model is not ready, for the ready endpoints' error body and the inference 503s. */
export function notReadyMessage(entry: ModelEntry): string {
  const s = entry.state;
  switch (s.phase) {
    case 'ready':
      return `model '${entry.name}' is ready`;
    case 'loading':
      return s.lastError
        ? `model '${entry.name}' is not ready: loading (attempt ${s.attempt}); the previous attempt failed: ${s.lastError}`
        : `model '${entry.name}' is not ready: loading (attempt ${s.attempt})`;
    case 'failed':
      return `model '${entry.name}' failed to load: ${s.error}`;
  }
}
