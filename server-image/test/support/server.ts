/**
 * Starts the real serving runtime in-process (startServer, real onnxruntime, real HTTP on loopback, ports chosen
 * by the OS) with its winston logs captured for assertions; optionally on a fake clock that the test moves, so
 * batching deadlines fire exactly when the test says (after it has seen the requests queued).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { ServerConfig } from '../../src/config.js';
import { DRAIN_QUIET_MS, startServer, type RunningServer, type ServerDeps } from '../../src/main.js';
import type { FakeClock } from '../../src/testing/fake-clock.js';
import { http } from './client.js';

export interface TestServer {
  /** http://127.0.0.1:<port> of the inference port. */
  base: string;
  metricsBase: string;
  server: RunningServer;
  /** Every log entry so far, parsed. */
  logs: Record<string, unknown>[];
  modelPath: string;
  /** Shuts down (moving the fake clock past the drain's quiet period, if there is one) and removes the model. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Wait until the model is ready (default true). */
  waitReady?: boolean;
  /** Run on this clock instead of the real one. */
  clock?: FakeClock;
  /** More of startServer's dependencies (the payload log's stdout writer, its random numbers, ...). */
  deps?: Omit<ServerDeps, 'logger' | 'clock'>;
}

/** A ServerConfig with the runtime's defaults, loopback, OS-chosen ports and fast retries. */
export function testConfig(overrides: Partial<ServerConfig> & { modelUri: string }): ServerConfig {
  return {
    modelName: 'model',
    modelVersion: '1',
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    maxBatchSize: 32,
    maxQueueDelayMs: 0,
    maxQueueSize: 1024,
    maxConcurrentBatches: 1,
    intraOpThreads: 1,
    interOpThreads: 0,
    cacheDir: join(tmpdir(), 'modelship-test-cache'),
    pvcRoot: '/mnt/pvc',
    maxModelBytes: 2 ** 31,
    maxRequestBytes: 64 * 1024 * 1024,
    maxRequestsPerConnection: 1000,
    loadAttempts: 1,
    loadRetryDelayMs: 10,
    fetchTimeoutMs: 10_000,
    drainTimeoutMs: 10_000,
    logLevel: 'debug',
    revision: 'test-rev',
    driftWindowMs: 3_600_000,
    ...overrides,
  };
}

export function captureLogger(): { logger: winston.Logger; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return { logger, logs };
}

/** Writes `model` to a temp file and serves it; waits until it is ready unless `waitReady` is false. */
export async function startTestServer(
  model: Uint8Array | undefined,
  overrides: Partial<ServerConfig> = {},
  options: TestServerOptions | boolean = true,
): Promise<TestServer> {
  const { waitReady = true, clock, deps } = typeof options === 'boolean' ? { waitReady: options } : options;
  const dir = await mkdtemp(join(tmpdir(), 'modelship-server-test-'));
  const modelPath = join(dir, 'model.onnx');
  if (model) await writeFile(modelPath, model);
  const { logger, logs } = captureLogger();
  const server = await startServer(testConfig({ modelUri: modelPath, ...overrides }), {
    ...deps,
    logger,
    clock,
  });
  const stop = async () => {
    const stopped = server.shutdown();
    if (clock) await advanceUntil(clock, stopped, DRAIN_QUIET_MS);
    await stopped;
  };
  if (waitReady && !(await server.loaded)) {
    await stop();
    throw new Error(`test model failed to load: ${JSON.stringify(logs.filter((l) => l.level === 'error'))}`);
  }
  return {
    base: `http://127.0.0.1:${server.port}`,
    metricsBase: `http://127.0.0.1:${server.metricsPort}`,
    server,
    logs,
    modelPath,
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Moves `clock` on by `stepMs` at a time until `done` settles (what waits on the fake clock gets its time). */
export async function advanceUntil(clock: FakeClock, done: Promise<unknown>, stepMs: number): Promise<void> {
  let settled = false;
  const mark = () => (settled = true);
  void done.then(mark, mark);
  while (!settled) await clock.advance(stepMs);
}

/** Waits until `check` holds, looking again every 10 ms; fails after `timeoutMs` saying what it waited for. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The server's modelship_inference_pending_requests gauge, as Prometheus scrapes it: queued or running requests. */
export async function pendingRequests(s: TestServer): Promise<number> {
  const text = (await http(`${s.metricsBase}/metrics`)).body.toString();
  const line = text.split('\n').find((l) => l.startsWith('modelship_inference_pending_requests{'));
  if (line === undefined) throw new Error(`no pending-requests gauge in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Waits until exactly `n` requests are queued or running in the batcher (they have all arrived). */
export function waitForPending(s: TestServer, n: number): Promise<void> {
  return waitUntil(`${n} requests are pending`, async () => (await pendingRequests(s)) === n);
}
