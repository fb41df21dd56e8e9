/**
 * Fetching and validating the baseline (--baseline-uri): with the model's fetcher, so it takes the same URI forms
 * (path, file://, http(s)://, s3://, pvc://), retried as the model is. Drift is optional: whatever goes wrong is a
 * warning and an undefined result (modelship_drift_baseline_loaded stays 0), never a failed model load.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'winston';
import type { Clock } from '../../clock.js';
import { fetchModel, type FetchOptions } from '../../repository/fetch.js';
import { failureReason, withRetries, type RetryPolicy } from '../../repository/loader.js';
import { parseBaseline, type Baseline } from './baseline.js';

/** A baseline is a few kilobytes per feature; this bounds a wrong URI pointing at something huge. */
export const MAX_BASELINE_BYTES = 16 * 1024 * 1024;

export interface BaselineSource extends RetryPolicy {
  uri: string;
  fetch: Omit<FetchOptions, 'maxBytes' | 'logger' | 'sha256'>;
}

export async function loadBaseline(
  source: BaselineSource,
  deps: { logger: Logger; clock: Clock; proceed: () => boolean },
): Promise<Baseline | undefined> {
  const { logger } = deps;
  const outcome = await withRetries(
    source,
    deps.clock,
    () => fetchModel(source.uri, { ...source.fetch, maxBytes: MAX_BASELINE_BYTES }),
    {
      failed: (err, attempt, final) =>
        logger.warn('drift baseline fetch failed', {
          attempt,
          of: source.attempts,
          reason: failureReason(err),
          error: (err as Error).message,
          willRetry: !final,
        }),
      proceed: deps.proceed,
    },
  );
  const off = (why: string, extra: Record<string, unknown> = {}) => {
    logger.warn(`drift monitoring is off: ${why}`, extra);
    return undefined;
  };
  if (!outcome.ok) return off('the baseline could not be fetched');
  const file = outcome.value;
  // Downloads are bounded while streaming; local and pvc:// files are used in place.
  if (file.bytes > MAX_BASELINE_BYTES)
    return off(`the baseline is ${file.bytes} bytes, over ${MAX_BASELINE_BYTES}`, { uri: file.uri });
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (err) {
    return off(`the baseline could not be read: ${(err as Error).message}`, { uri: file.uri });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return off(`the baseline is not valid JSON: ${(err as Error).message}`, { uri: file.uri });
  }
  try {
    const baseline = parseBaseline(doc);
    logger.info('drift baseline loaded', {
      uri: file.uri,
      sha256: file.sha256,
      features: baseline.features.length,
      outputs: baseline.outputs.length,
    });
    return baseline;
  } catch (err) {
    return off(`the baseline is invalid: ${(err as Error).message}`, { uri: file.uri });
  }
}
