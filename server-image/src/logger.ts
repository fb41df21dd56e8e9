/**
 * JSON logs on stdout (stderr for `inspect`), one object per line, with a timestamp, for the cluster's log pipeline.
 * winston formats and filters every line except the access log: the one `request` line per request has a fixed
 * shape and is written by createAccessLog (~0.6 µs a line; a winston call costs ~5 µs, mostly its stream
 * pipeline, which was a measurable share of a request's CPU time, see bench/server). Both write through one
 * LineWriter, so the lines keep their order.
 */
import { Writable } from 'node:stream';
import winston from 'winston';

const MESSAGE = Symbol.for('message');
const safeJson = winston.format.json();

/**
 * timestamp + JSON in one step with the built-in JSON.stringify: about 4 µs less per line than
 * format.combine(timestamp(), json()). Values JSON.stringify cannot write (a BigInt, a cycle) fall back to
 * winston's safe serializer.
 */
const fastJson = winston.format((info) => {
  info.timestamp = new Date().toISOString();
  try {
    (info as Record<symbol, unknown>)[MESSAGE] = JSON.stringify(info);
    return info;
  } catch {
    return safeJson.transform(info, safeJson.options);
  }
});

/**
 * Collects the lines written during one event-loop turn and writes them to the sink in one call (one write(2)
 * on stdout instead of one per request). Lines are flushed at the end of the turn (setImmediate), at once past
 * 64 KiB, and synchronously when the process exits, so nothing written before an exit is lost.
 */
export class LineWriter {
  private pending = '';
  private scheduled = false;
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly sink: (text: string) => void) {}

  /** Appends one line; `line` ends with '\n'. */
  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= 65_536) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.sink(text);
  }
}

/** The access log: one line per request. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  /** Who called (API key name or JWT subject), when the port authenticates. */
  caller?: string;
}
export type AccessLog = (entry: AccessEntry) => void;

/** Levels as winston's npm levels: a line is written when its level is at or below the logger's. */
const LEVELS: Record<string, number> = {
  error: 0,
  warn: 1,
  info: 2,
  http: 3,
  verbose: 4,
  debug: 5,
  silly: 6,
};

/**
 * The access line as createLogging's winston logger would write `logger.info('request', entry)` (same keys, same
 * order: defaultMeta, the entry, level, message, timestamp), built by hand. A no-op below level info.
 */
export function createAccessLog(
  level: string,
  defaultMeta: Record<string, string>,
  write: (line: string) => void,
): AccessLog {
  if ((LEVELS[level] ?? LEVELS.info!) < LEVELS.info!) return () => undefined;
  let prefix = '{';
  for (const [k, v] of Object.entries(defaultMeta)) prefix += `${JSON.stringify(k)}:${JSON.stringify(v)},`;
  // Under load many lines share a millisecond: the ISO text is made once per millisecond.
  let stampMs = -1;
  let stamp = '';
  return (e) => {
    const now = Date.now();
    if (now !== stampMs) {
      stampMs = now;
      stamp = new Date(now).toISOString();
    }
    write(
      `${prefix}"method":${JSON.stringify(e.method)},"path":${JSON.stringify(e.path)},"status":${e.status},"durationMs":${e.durationMs},"requestId":${JSON.stringify(e.requestId)},${e.caller === undefined ? '' : `"caller":${JSON.stringify(e.caller)},`}"level":"info","message":"request","timestamp":"${stamp}"}\n`,
    );
  };
}

export interface Logging {
  logger: winston.Logger;
  access: AccessLog;
}

/** A LineWriter on stdout that is flushed when the process exits. */
export function stdoutLines(): LineWriter {
  return linesOn(process.stdout);
}

/** The same on stderr: `inspect` keeps stdout for its one result line. */
export function stderrLines(): LineWriter {
  return linesOn(process.stderr);
}

function linesOn(stream: NodeJS.WriteStream): LineWriter {
  const out = new LineWriter((text) => stream.write(text));
  process.on('exit', () => out.flush());
  return out;
}

/** The process's logging: winston for events, the hand-built access line for requests, both through `out`. */
export function createLogging(
  level: string,
  defaultMeta: Record<string, string> = {},
  out: LineWriter = stdoutLines(),
): Logging {
  // winston's Stream transport writes `line + EOL` as a string: passed on as it is.
  const sink = new Writable({
    decodeStrings: false,
    write(line: string, _encoding, done) {
      out.write(line);
      done();
    },
  });
  const logger = winston.createLogger({
    level,
    defaultMeta,
    format: fastJson(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return { logger, access: createAccessLog(level, defaultMeta, (line) => out.write(line)) };
}

/** The access log of a logger that has no hand-built one (tests inject plain winston loggers). */
export function accessLogVia(logger: winston.Logger): AccessLog {
  return (entry) => logger.info('request', entry);
}
