/**
 * Loading the model before the server reports ready: fetch (fetch.ts), create the onnxruntime session, read its
 * signature, run one warm-up inference. Failures are retried a bounded number of times when they may be transient
 * (network trouble); each failure is logged and shown by the ready endpoints through the entry's lifecycle.
 * openModel and withRetries are the only way from a URI to a warmed-up session: `modelship-server inspect`
 * (inspect/run.ts) uses them too, so a model that passes validation is loaded exactly as the serving pods load it.
 */
import type { Logger } from 'winston';
import { ModelRunner } from '../batcher/runner.js';
import type { BatcherOptions } from '../batcher/batcher.js';
import { sleep, type Clock } from '../clock.js';
import type { ServingMetrics } from '../metrics.js';
import { fetchModel, type FetchedModel, type FetchOptions } from './fetch.js';
import { OnnxModel, type SessionSettings } from './model.js';
import { verifyFile, type ModelPublicKey } from './model-signature.js';
import type { ModelEntry, Serving } from './registry.js';
import { signatureVerifiedGauge } from './signature-metric.js';
import { checkDigestPolicy, loadSignature, type ModelVerification } from './verify-model.js';

/** What opening a model needs: where it is, how to fetch it, what must hold of it, how to run it. */
export interface OpenSettings {
  uri: string;
  fetch: FetchOptions;
  session: SessionSettings;
  /** The digest policy and the signature check (verify-model.ts); none by default. */
  verify?: ModelVerification;
}

export interface RetryPolicy {
  attempts: number;
  retryDelayMs: number;
}

export interface LoadSettings extends OpenSettings, RetryPolicy {
  batching: BatcherOptions;
}

export interface LoadDeps {
  logger: Logger;
  metrics: ServingMetrics;
  /** Waits between attempts and times them; tests drive a fake one. */
  clock: Clock;
}

/** A model fetched, its session created and warmed up: one successful attempt. */
export interface OpenedModel {
  model: OnnxModel;
  /** Where the bytes came from and their sha256 (of the bytes the session was created from). */
  fetched: FetchedModel;
  /** The key whose signature over those bytes was verified, when one was required. */
  signedBy?: ModelPublicKey;
  /** Fetching (or hashing a local file) and creating the session, ms. */
  loadMs: number;
  /** The warm-up inference, ms. */
  warmupMs: number;
}

/** The model loads but cannot run even on zeros: retrying will not help. */
export class WarmUpError extends Error {
  override name = 'WarmUpError';
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
  const signatureGauge = settings.verify?.signature && signatureVerifiedGauge(deps.metrics.registry);
  signatureGauge?.set(labels, false);
  let started = deps.clock.now();
  const outcome = await withRetries(
    settings,
    deps.clock,
    () => {
      started = deps.clock.now();
      return loadOnce(entry, settings, deps);
    },
    {
      failed: (err, attempt, final) => {
        const error = (err as Error).message;
        const retryable = isRetryable(err);
        deps.logger.error('model load failed', {
          model: entry.name,
          version: entry.version,
          attempt,
          of: settings.attempts,
          reason: failureReason(err),
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
      },
      // A shutdown (during an attempt or the wait after it) ends the retries.
      proceed: () => lifecycle.state.phase === 'loading',
    },
  );
  if (!outcome.ok) return undefined;
  signatureGauge?.set(labels, true);
  const [model, serving] = outcome.value;
  const seconds = (deps.clock.now() - started) / 1000;
  if (lifecycle.dispatch({ type: 'loaded', serving }).phase !== 'ready') {
    await model.close();
    return undefined;
  }
  deps.metrics.loaded(labels, seconds);
  deps.logger.info('model ready', {
    model: entry.name,
    version: entry.version,
    attempt: outcome.attempt,
    loadSeconds: Math.round(seconds * 1000) / 1000,
    batching: serving.batchable && serving.maxBatchSize > 1,
    inputs: serving.signature.inputs,
    outputs: serving.signature.outputs,
  });
  return model;
}

export type RetryOutcome<T> =
  | { ok: true; value: T; attempt: number }
  /** `error` is the last attempt's failure. */
  | { ok: false; error: unknown; attempt: number };

/**
 * The load retry policy: up to `attempts` tries, another only when the failure may be transient (isRetryable),
 * waiting retryDelayMs, then twice that, and so on. `failed` hears every failure (`final`: no attempt follows);
 * `proceed` is asked after each failure and after each wait, so that a shutdown ends the retries.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  clock: Clock,
  attempt: () => Promise<T>,
  hooks: { failed(err: unknown, attempt: number, final: boolean): void; proceed(): boolean },
): Promise<RetryOutcome<T>> {
  for (let n = 1; ; n++) {
    try {
      return { ok: true, value: await attempt(), attempt: n };
    } catch (err) {
      const final = n >= policy.attempts || !isRetryable(err);
      hooks.failed(err, n, final);
      if (final || !hooks.proceed()) return { ok: false, error: err, attempt: n };
      await sleep(clock, policy.retryDelayMs * 2 ** (n - 1));
      if (!hooks.proceed()) return { ok: false, error: err, attempt: n };
    }
  }
}

/**
 * One attempt: apply the digest policy (before any download), fetch the signature if one is required, fetch the
 * file (checking its sha256), verify its signature, create the session (which reads the model's tensor
 * signature), run the warm-up inference. Throws ModelFetchError, SignatureVerificationError, InvalidModelError or
 * WarmUpError; a session that fails its warm-up is closed first.
 */
export async function openModel(settings: OpenSettings, logger: Logger, clock: Clock): Promise<OpenedModel> {
  const started = clock.now();
  const { requireDigest, signature } = settings.verify ?? {};
  if (requireDigest) checkDigestPolicy(settings.uri, settings.fetch.sha256, settings.fetch.pvcRoot);
  // The signature first: it is small, and a missing one should not cost a multi-gigabyte download.
  const { sha256: _, ...signatureFetch } = settings.fetch;
  const signatureBytes = signature && (await loadSignature(signature.source, signatureFetch, logger));
  const fetched = await fetchModel(settings.uri, { ...settings.fetch, logger });
  // On the very file onnxruntime will open, after its sha256 check.
  if (signature && signatureBytes) await verifyFile(fetched.path, signature.publicKey, signatureBytes);
  const model = await OnnxModel.load(fetched.path, settings.session);
  const loaded = clock.now();
  try {
    await model.warmUp();
  } catch (err) {
    await model.close();
    throw new WarmUpError(`the warm-up inference failed: ${(err as Error).message}`, { cause: err });
  }
  return {
    model,
    fetched,
    ...(signature ? { signedBy: signature.publicKey } : {}),
    loadMs: loaded - started,
    warmupMs: clock.now() - loaded,
  };
}

async function loadOnce(
  entry: ModelEntry,
  settings: LoadSettings,
  deps: LoadDeps,
): Promise<[OnnxModel, Serving]> {
  const { model, fetched, signedBy } = await openModel(settings, deps.logger, deps.clock);
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
    // Which key vouched for these bytes: its type and fingerprint, never the key itself.
    ...(signedBy
      ? { signature: { verified: true, key: signedBy.description, keySha256: signedBy.fingerprint } }
      : {}),
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

/**
 * A load failure's reason for programs (log field, inspect's `code`): a fetch error's own reason
 * (`checksum_mismatch`, `digest_required`, `not_found`, ...), `signature_invalid`, `invalid_model`,
 * `warmup_failed`, or `load_error` for anything else.
 */
export function failureReason(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { reason?: unknown }).reason === 'string')
    return (err as { reason: string }).reason;
  // By name, not instanceof: errors may cross module realms (Jest's VM contexts).
  if (err instanceof Error && err.name === 'InvalidModelError') return 'invalid_model';
  if (err instanceof Error && err.name === 'WarmUpError') return 'warmup_failed';
  return 'load_error';
}
