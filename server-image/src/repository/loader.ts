/**
 * Loading the model before the server reports ready: fetch (fetch.ts), create the onnxruntime session, read its
 * signature, run one warm-up inference. Failures are retried a bounded number of times when they may be transient
 * (network trouble); each failure is logged and shown by the ready endpoints through the registry entry's state.
 */
import type { Logger } from 'winston';
import { ModelRunner } from '../batcher/runner.js';
import type { BatcherOptions } from '../batcher/batcher.js';
import type { ServingMetrics } from '../metrics.js';
import { fetchModel, type FetchOptions } from './fetch.js';
import { OnnxModel, type SessionSettings } from './model.js';
import type { ModelEntry } from './registry.js';

export interface LoadSettings {
  uri: string;
  fetch: FetchOptions;
  session: SessionSettings;
  batching: BatcherOptions;
  attempts: number;
  retryDelayMs: number;
}

export interface LoadDeps {
  logger: Logger;
  metrics: ServingMetrics;
  /** Injected so tests can wait without real time; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Loads into `entry` (state: loading -> ready | failed). Resolves with the model, or undefined after the last
 * failed attempt. Never throws.
 */
export async function loadModel(
  entry: ModelEntry,
  settings: LoadSettings,
  deps: LoadDeps,
): Promise<OnnxModel | undefined> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const labels = { model: entry.name, version: entry.version };
  let lastError: string | undefined;
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    entry.state =
      lastError === undefined ? { phase: 'loading', attempt } : { phase: 'loading', attempt, lastError };
    const started = performance.now();
    try {
      const model = await loadOnce(entry, settings, deps);
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.loaded(labels, seconds);
      deps.metrics.setReady(labels, true);
      entry.state = { phase: 'ready' };
      deps.logger.info('model ready', {
        model: entry.name,
        version: entry.version,
        attempt,
        loadSeconds: Math.round(seconds * 1000) / 1000,
        batching: entry.batchable && settings.batching.maxBatchSize > 1,
        inputs: entry.signature?.inputs,
        outputs: entry.signature?.outputs,
      });
      return model;
    } catch (err) {
      lastError = (err as Error).message;
      const retryable = isRetryable(err);
      const final = attempt === settings.attempts || !retryable;
      deps.logger.error('model load failed', {
        model: entry.name,
        version: entry.version,
        attempt,
        of: settings.attempts,
        reason: reasonOf(err),
        error: lastError,
        willRetry: !final,
      });
      if (final) {
        entry.state = {
          phase: 'failed',
          error: `${lastError} (attempt ${attempt} of ${settings.attempts}${retryable ? '' : '; not retried: retrying cannot fix it'})`,
        };
        return undefined;
      }
      // Between attempts the ready endpoints already say which attempt comes next and why the last one failed.
      entry.state = { phase: 'loading', attempt: attempt + 1, lastError };
      await sleep(settings.retryDelayMs * 2 ** (attempt - 1));
    }
  }
  return undefined;
}

async function loadOnce(entry: ModelEntry, settings: LoadSettings, deps: LoadDeps): Promise<OnnxModel> {
  const fetched = await fetchModel(settings.uri, { ...settings.fetch, logger: deps.logger });
  const model = await OnnxModel.load(fetched.path, settings.session);
  try {
    await model.warmUp();
  } catch (err) {
    await model.close();
    throw new Error(`the warm-up inference failed: ${(err as Error).message}`, { cause: err });
  }
  entry.signature = model.signature;
  entry.batchable = model.batchable;
  entry.maxBatchSize = settings.batching.maxBatchSize;
  entry.maxQueueDelayMs = settings.batching.maxQueueDelayMs;
  entry.runner = new ModelRunner(
    model,
    settings.batching,
    { model: entry.name, version: entry.version },
    deps.metrics,
    entry.stats,
  );
  deps.logger.info('model loaded', {
    model: entry.name,
    uri: fetched.uri,
    sha256: fetched.sha256,
    bytes: fetched.bytes,
  });
  return model;
}

/** Fetch errors say whether another attempt may help; an invalid model or a failed warm-up will not change. */
function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

function reasonOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { reason?: unknown }).reason === 'string')
    return (err as { reason: string }).reason;
  if (err instanceof Error && err.name === 'InvalidModelError') return 'invalid_model';
  return 'load_error';
}
