/**
 * Where an inspection's result goes: the whole result as one JSON line on stdout (the pod's log keeps all of it),
 * and the fitted form (result.ts) in the termination-message file, which the operator reads from the Job's pod
 * status. Both writes are synchronous: the caller exits right after.
 */
import { writeFileSync, writeSync } from 'node:fs';
import type { Logger } from 'winston';
import { fitTerminationMessage, type InspectResult } from './result.js';

/** Writes the result; a termination-log path that cannot be written is logged, not fatal (stdout has it all). */
export function reportResult(result: InspectResult, terminationLog: string, logger: Logger): void {
  writeSync(1, `${JSON.stringify(result)}\n`);
  if (terminationLog === '') return;
  try {
    writeFileSync(terminationLog, fitTerminationMessage(result));
  } catch (err) {
    logger.warn('could not write the termination message', {
      path: terminationLog,
      error: (err as Error).message,
    });
  }
}
