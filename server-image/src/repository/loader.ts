/**
 * Loading the model before the server reports ready: fetch (fetch.ts), create the onnxruntime session, read its
 * signature, run one warm-up inference. Failures are retried a bounded number of times when they may be transient
 * (network trouble); each failure is logged and shown by the ready endpoints through the entry's lifecycle.
 */
import type { Logger } from 'winston';
import { ModelRunner } from '../batcher/runner.js';
import type { BatcherOptions } from '../batcher/batcher.js';
import { sleep, type Clock } from '../clock.js';
import type { ServingMetrics } from '../metrics.js';
import { fetchModel, type FetchOptions } from './fetch.js';
import { OnnxModel, type SessionSettings } from './model.js';
import type { ModelEntry, Serving } from './registry.js';

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
  /** Waits between attempts and times them; tests drive a fake one. */
  clock: Clock;
}

/**
 * Loads the model of `entry`, reporting each outcome to its lifecycle (loadFailed, loaded). Resolves with the
 * model once it serves, or undefined when it will not: the last attempt failed, or the server began shutting down
 * meanwhile (then a model that loaded anyway is closed). Never throws.
 */
export async function loadModel(
  entry: ModelEntry,
  settings: LoadSettings,
  deps: LoadDeps,
): Promise<OnnxModel | undefined> {
  const { lifecycle } = entry;
  const labels = { model: entry.name, version: entry.version };
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    const started = deps.clock.now();
    let model: OnnxModel;
    let serving: Serving;
    try {
      [model, serving] = await loadOnce(entry, settings, deps);
    } catch (err) {
      const error = (err as Error).message;
      const retryable = isRetryable(err);
      const final = attempt === settings.attempts || !retryable;
      deps.logger.error('model load failed', {
        model: entry.name,
        version: entry.version,
        attempt,
        of: settings.attempts,
        reason: reasonOf(err),
        error,
        willRetry: !final,
      });
      // Between attempts the ready endpoints already say which attempt comes next and why the last one failed.
      lifecycle.dispatch(
        final
          ? {
              type: 'loadFailed',
              retry: false,
              error: `${error} (attempt ${attempt} of ${settings.attempts}${retryable ? '' : '; not retried: retrying cannot fix it'})`,
            }
          : { type: 'loadFailed', retry: true, error },
      );
      if (lifecycle.state.phase !== 'loading') return undefined;
      await sleep(deps.clock, settings.retryDelayMs * 2 ** (attempt - 1));
      // A shutdown during the wait ends the retries.
      if (lifecycle.state.phase !== 'loading') return undefined;
      continue;
    }
    const seconds = (deps.clock.now() - started) / 1000;
    if (lifecycle.dispatch({ type: 'loaded', serving }).phase !== 'ready') {
      await model.close();
      return undefined;
    }
    deps.metrics.loaded(labels, seconds);
    deps.logger.info('model ready', {
      model: entry.name,
      version: entry.version,
      attempt,
      loadSeconds: Math.round(seconds * 1000) / 1000,
      batching: serving.batchable && serving.maxBatchSize > 1,
      inputs: serving.signature.inputs,
      outputs: serving.signature.outputs,
    });
    return model;
  }
  return undefined;
}

async function loadOnce(
  entry: ModelEntry,
  settings: LoadSettings,
  deps: LoadDeps,
): Promise<[OnnxModel, Serving]> {
  const fetched = await fetchModel(settings.uri, { ...settings.fetch, logger: deps.logger });
  const model = await OnnxModel.load(fetched.path, settings.session);
  try {
    await model.warmUp();
  } catch (err) {
    await model.close();
    throw new Error(`the warm-up inference failed: ${(err as Error).message}`, { cause: err });
  }
  const runner = new ModelRunner(
    model,
    settings.batching,
    { model: entry.name, version: entry.version },
    deps.metrics,
    entry.stats,
    deps.clock,
  );
  deps.logger.info('model loaded', {
    model: entry.name,
    uri: fetched.uri,
    sha256: fetched.sha256,
    bytes: fetched.bytes,
  });
  return [
    model,
    {
      entry,
      runner,
      signature: model.signature,
      batchable: model.batchable,
      maxBatchSize: settings.batching.maxBatchSize,
      maxQueueDelayMs: settings.batching.maxQueueDelayMs,
    },
  ];
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
