import { afterEach, describe, expect, it } from '@jest/globals';
import { buildProgram, type ServerConfig } from './config.js';
import * as ENV from './env.js';

async function parse(args: string[]): Promise<ServerConfig> {
  let config: ServerConfig | undefined;
  await buildProgram((c) => {
    config = c;
  }).parseAsync(['node', 'modelship-server', 'serve', ...args]);
  return config!;
}

const saved = { ...process.env };
afterEach(() => {
  for (const name of ENV.ALL_ENV_VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('serve configuration', () => {
  it('has the documented defaults (batching as in the CRD)', async () => {
    const c = await parse(['--model-uri', '/m.onnx']);
    expect(c).toMatchObject({
      modelName: 'model',
      modelVersion: '1',
      port: 8080,
      metricsPort: 9090,
      maxBatchSize: ENV.DEFAULTS.maxBatchSize,
      maxQueueDelayMs: ENV.DEFAULTS.maxQueueDelayMs,
      maxQueueSize: ENV.DEFAULTS.maxQueueSize,
      maxConcurrentBatches: 1,
      intraOpThreads: 0,
      interOpThreads: 0,
      pvcRoot: '/mnt/pvc',
      logLevel: 'info',
      revision: '',
    });
  });

  it('reads every setting from its environment variable, and flags win over variables', async () => {
    Object.assign(process.env, {
      [ENV.MODEL_URI]: 's3://bucket/model.onnx',
      [ENV.MODEL_NAME]: 'iris',
      [ENV.MODEL_SHA256]: 'A'.repeat(64),
      [ENV.MAX_BATCH_SIZE]: '8',
      [ENV.MAX_QUEUE_DELAY_MS]: '0.5',
      [ENV.INTRA_OP_THREADS]: '2',
      [ENV.REVISION]: 'abc123',
      [ENV.PORT]: '9000',
    });
    const c = await parse(['--port', '9001']);
    expect(c).toMatchObject({
      modelUri: 's3://bucket/model.onnx',
      modelName: 'iris',
      modelSha256: 'a'.repeat(64),
      maxBatchSize: 8,
      maxQueueDelayMs: 0.5,
      intraOpThreads: 2,
      revision: 'abc123',
      port: 9001,
    });
  });
});
