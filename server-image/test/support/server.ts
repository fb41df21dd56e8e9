/**
 * Starts the real serving runtime in-process (startServer, real onnxruntime, real HTTP on loopback, ports chosen
 * by the OS) with its winston logs captured for assertions.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { ServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/main.js';

export interface TestServer {
  /** http://127.0.0.1:<port> of the inference port. */
  base: string;
  metricsBase: string;
  server: RunningServer;
  /** Every log entry so far, parsed. */
  logs: Record<string, unknown>[];
  modelPath: string;
  stop(): Promise<void>;
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
    maxQueueDelayMs: 2,
    maxQueueSize: 1024,
    maxConcurrentBatches: 1,
    intraOpThreads: 1,
    interOpThreads: 0,
    cacheDir: join(tmpdir(), 'modelship-test-cache'),
    pvcRoot: '/mnt/pvc',
    maxModelBytes: 2 ** 31,
    maxRequestBytes: 64 * 1024 * 1024,
    loadAttempts: 1,
    loadRetryDelayMs: 10,
    fetchTimeoutMs: 10_000,
    drainTimeoutMs: 10_000,
    logLevel: 'debug',
    revision: 'test-rev',
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
  waitReady = true,
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-server-test-'));
  const modelPath = join(dir, 'model.onnx');
  if (model) await writeFile(modelPath, model);
  const { logger, logs } = captureLogger();
  const server = await startServer(testConfig({ modelUri: modelPath, ...overrides }), logger);
  if (waitReady && !(await server.loaded)) {
    await server.shutdown();
    throw new Error(`test model failed to load: ${JSON.stringify(logs.filter((l) => l.level === 'error'))}`);
  }
  return {
    base: `http://127.0.0.1:${server.port}`,
    metricsBase: `http://127.0.0.1:${server.metricsPort}`,
    server,
    logs,
    modelPath,
    stop: async () => {
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
