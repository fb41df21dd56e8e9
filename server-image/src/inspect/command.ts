/**
 * `modelship-server inspect` as a process: runs one inspection (run.ts) under a deadline, reports the result
 * (report.ts) and exits, 0 when the model passed and 1 otherwise. Whatever happens (the deadline, SIGTERM from a
 * Job's activeDeadlineSeconds, an unexpected exception) ends in a result rather than a hang or a stack trace.
 */
import { realClock } from '../clock.js';
import type { InspectConfig } from '../config.js';
import { createLogging, stderrLines } from '../logger.js';
import { reportResult } from './report.js';
import type { InspectFailure, InspectResult, InspectStage } from './result.js';
import { inspectModel } from './run.js';

const DOING: Record<InspectStage, string> = {
  model: 'loading the model (fetch, session, warm-up)',
  holdout: 'scoring the holdout',
};

export async function runInspect(config: InspectConfig): Promise<void> {
  // stdout carries the result line alone; logs go to stderr.
  const { logger } = createLogging(config.logLevel, { component: 'inspect' }, stderrLines());
  let stage: InspectStage = 'model';
  let finished = false;
  const finish = (result: InspectResult): void => {
    if (finished) return;
    finished = true;
    reportResult(result, config.terminationLog, logger);
    // Exit now: an onnxruntime call still running on its worker (after a deadline) must not keep the pod alive.
    process.exit(result.ok ? 0 : 1);
  };
  const fail = (code: string, reason: string): InspectFailure => ({ ok: false, stage, code, reason });

  setTimeout(
    () =>
      finish(
        fail(
          'deadline_exceeded',
          `inspect did not finish within ${config.timeoutMs} ms (--timeout-ms): it was ${DOING[stage]}`,
        ),
      ),
    config.timeoutMs,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => finish(fail('terminated', `stopped by ${signal} while ${DOING[stage]}`)));
  const unexpected = (err: unknown) =>
    finish(fail('internal_error', `unexpected error: ${err instanceof Error ? err.message : String(err)}`));
  process.on('uncaughtException', unexpected);
  process.on('unhandledRejection', unexpected);

  const result = await inspectModel(config, {
    logger,
    clock: realClock,
    onStage: (s) => (stage = s),
  });
  finish(result);
}
