/** A real winston logger whose JSON lines are kept in memory, so tests can read what was logged. */
import { Writable } from 'node:stream';
import winston from 'winston';

export interface CapturedLogs {
  logger: winston.Logger;
  /** Every line logged so far, parsed. */
  entries(): Record<string, unknown>[];
  /** Everything logged so far as raw text, for "this must not appear anywhere" checks. */
  text(): string;
}

export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return {
    logger,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
