/**
 * One inspection: open the model exactly as the server does (repository/loader.ts: fetch with its timeout and
 * sha256 check, session, warm-up, the same retries), read its signature (the one `GET /v2/models/{m}` reports),
 * then optionally score a holdout set. Resolves with the result; never throws.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import type { InspectConfig } from '../config.js';
import { decodeInferRequest } from '../protocol/v2/decode.js';
import { fetchModel, type FetchOptions } from '../repository/fetch.js';
import { failureReason, openModel, withRetries, type OpenedModel } from '../repository/loader.js';
import type { OnnxModel } from '../repository/model.js';
import { modelVerification } from '../trust-options.js';
import {
  checkHoldout,
  holdoutRows,
  HoldoutError,
  parseHoldoutSpec,
  scoreHoldout,
  type HoldoutScore,
} from './holdout.js';
import type { InspectFailure, InspectResult, InspectStage } from './result.js';

export interface InspectDeps {
  logger: Logger;
  clock: Clock;
  /** Hears each stage as it starts, so a deadline or a signal can say where the inspection was. */
  onStage?: (stage: InspectStage) => void;
}

/** A failure with what the result needs to say about it. */
class StageFailure extends Error {
  constructor(
    readonly stage: InspectStage,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function inspectModel(config: InspectConfig, deps: InspectDeps): Promise<InspectResult> {
  let opened: OpenedModel | undefined;
  let stage: InspectStage = 'model';
  try {
    deps.onStage?.(stage);
    opened = await open(config, deps);
    const { model, fetched } = opened;
    let holdout: HoldoutScore | undefined;
    if (config.holdoutUri !== undefined) {
      deps.onStage?.((stage = 'holdout'));
      holdout = await scoreHoldoutFile(config.holdoutUri, model, config, deps);
    }
    return {
      ok: true,
      signature: { inputs: model.signature.inputs, outputs: model.signature.outputs },
      sha256: fetched.sha256,
      bytes: fetched.bytes,
      loadMs: Math.round(opened.loadMs),
      warmupMs: Math.round(opened.warmupMs),
      ...(holdout ? { holdout } : {}),
    };
  } catch (err) {
    return failure(err, stage);
  } finally {
    await opened?.model.close();
  }
}

async function open(config: InspectConfig, deps: InspectDeps): Promise<OpenedModel> {
  const settings = {
    uri: config.modelUri,
    fetch: { ...fetchOptions(config), maxBytes: config.maxModelBytes, sha256: config.modelSha256 },
    session: { intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads },
    verify: modelVerification(config),
  };
  const outcome = await withRetries(
    { attempts: config.loadAttempts, retryDelayMs: config.loadRetryDelayMs },
    deps.clock,
    () => openModel(settings, deps.logger, deps.clock),
    {
      failed: (err, attempt, final) =>
        deps.logger.error('model load failed', {
          attempt,
          of: config.loadAttempts,
          reason: failureReason(err),
          error: (err as Error).message,
          willRetry: !final,
        }),
      proceed: () => true,
    },
  );
  if (!outcome.ok) {
    const err = outcome.error;
    const tries = outcome.attempt > 1 ? ` (after ${outcome.attempt} attempts)` : '';
    throw new StageFailure('model', failureReason(err), `${modelPrefix(err)}${messageOf(err)}${tries}`);
  }
  deps.logger.info('model opened', {
    uri: outcome.value.fetched.uri,
    sha256: outcome.value.fetched.sha256,
    attempt: outcome.attempt,
  });
  return outcome.value;
}

/** A short lead naming the problem, before the fetcher's or onnxruntime's detailed message. */
function modelPrefix(err: unknown): string {
  // The signature check's failures (a fetch of the signature file included) already say so first.
  if (messageOf(err).startsWith('signature verification failed: ')) return '';
  switch (failureReason(err)) {
    case 'checksum_mismatch':
      return 'sha256 mismatch: ';
    case 'digest_required':
      return 'digest required: ';
    case 'invalid_model':
      return 'model is not ONNX (or not one onnxruntime can run): ';
    case 'warmup_failed':
      return 'model does not run: ';
    case 'not_found':
      return 'model not found: ';
    default:
      return 'model could not be loaded: ';
  }
}

async function scoreHoldoutFile(
  uri: string,
  model: OnnxModel,
  config: InspectConfig,
  deps: InspectDeps,
): Promise<HoldoutScore> {
  const invalid = (message: string) => new StageFailure('holdout', 'invalid_holdout', `holdout: ${message}`);
  const outcome = await withRetries(
    { attempts: config.loadAttempts, retryDelayMs: config.loadRetryDelayMs },
    deps.clock,
    () => fetchModel(uri, { ...fetchOptions(config), maxBytes: config.maxHoldoutBytes, logger: deps.logger }),
    {
      failed: (err, attempt, final) =>
        deps.logger.error('holdout fetch failed', {
          attempt,
          reason: failureReason(err),
          error: messageOf(err),
          willRetry: !final,
        }),
      proceed: () => true,
    },
  );
  if (!outcome.ok)
    throw new StageFailure('holdout', failureReason(outcome.error), `holdout: ${messageOf(outcome.error)}`);
  const file = outcome.value;
  // Downloads are bounded while streaming; local and pvc:// files are used in place, so check them here.
  if (file.bytes > config.maxHoldoutBytes)
    throw new StageFailure(
      'holdout',
      'too_large',
      `holdout: ${file.uri} is ${file.bytes} bytes, over --max-holdout-bytes (${config.maxHoldoutBytes})`,
    );
  const bytes = await readFile(file.path);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`not valid JSON: ${messageOf(err)}`);
  }
  try {
    const spec = parseHoldoutSpec(doc);
    // The protocol's decoder: the inputs are checked against the signature as a request's would be.
    const { inputs } = decodeInferRequest(bytes, undefined, model.signature);
    checkHoldout(spec, model.signature, holdoutRows(inputs));
    let output;
    try {
      [output] = await model.run(inputs, [spec.output]);
    } catch (err) {
      throw new StageFailure(
        'holdout',
        'holdout_run_failed',
        `holdout: onnxruntime could not run the model on the holdout's inputs: ${messageOf(err)}`,
      );
    }
    const score = scoreHoldout(spec, output!);
    deps.logger.info('holdout scored', { uri: file.uri, ...score });
    return score;
  } catch (err) {
    if (err instanceof StageFailure) throw err;
    // HoldoutError, or the decoder's InferenceError: both say what is wrong with the file.
    if (err instanceof HoldoutError || (err as Error).name === 'InferenceError')
      throw invalid(messageOf(err));
    throw err;
  }
}

function fetchOptions(config: InspectConfig): Omit<FetchOptions, 'maxBytes'> {
  return {
    cacheDir: config.cacheDir,
    timeoutMs: config.fetchTimeoutMs,
    pvcRoot: config.pvcRoot,
    s3: config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : undefined,
  };
}

function failure(err: unknown, stage: InspectStage): InspectFailure {
  if (err instanceof StageFailure)
    return { ok: false, stage: err.stage, code: err.code, reason: err.message };
  return { ok: false, stage, code: 'internal_error', reason: `unexpected error: ${messageOf(err)}` };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
