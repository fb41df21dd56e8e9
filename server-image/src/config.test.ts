import { describe, expect, it } from '@jest/globals';
import { buildProgram, type InspectConfig } from './config.js';
import * as ENV from './env.js';
import type { RouterConfig } from './router/main.js';
import { parseServe, restoreServerEnvAfterEach } from './testing/serve-config.js';

const parse = parseServe;

restoreServerEnvAfterEach();

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

describe('serve: input drift settings', () => {
  it('is off by default (an empty variable too), with a one-hour window', async () => {
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({
      baselineUri: undefined,
      driftWindowMs: 3_600_000,
    });
    process.env[ENV.BASELINE_URI] = '';
    expect((await parse(['--model-uri', '/m.onnx'])).baselineUri).toBeUndefined();
  });

  it('reads the baseline URI and the window from flags or variables', async () => {
    Object.assign(process.env, {
      [ENV.BASELINE_URI]: 's3://b/baseline.json',
      [ENV.DRIFT_WINDOW_MS]: '60000',
    });
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({
      baselineUri: 's3://b/baseline.json',
      driftWindowMs: 60_000,
    });
    expect((await parse(['--model-uri', '/m.onnx', '--baseline-uri', '/b.json'])).baselineUri).toBe(
      '/b.json',
    );
  });
});

describe('serve: feedback and payload log settings', () => {
  it('has the documented defaults: feedback on, payload log off', async () => {
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({
      feedbackStoreSize: 10_000,
      feedbackMaxAgeMs: 3_600_000,
      feedbackOutput: undefined,
      feedbackWindowMs: 3_600_000,
      payloadLog: 'none',
      payloadLogUrl: undefined,
      payloadLogSample: 1,
      payloadLogRedact: [],
      payloadLogMaxBytes: 65_536,
      payloadLogQueueSize: 1000,
      payloadLogBatchSize: 100,
      payloadLogFlushMs: 1000,
    });
  });

  it('reads them from variables (empty ones meaning unset)', async () => {
    Object.assign(process.env, {
      [ENV.FEEDBACK_STORE_SIZE]: '0',
      [ENV.FEEDBACK_OUTPUT]: '',
      [ENV.PAYLOAD_LOG]: 'http',
      [ENV.PAYLOAD_LOG_URL]: 'https://collector.example/events',
      [ENV.PAYLOAD_LOG_SAMPLE]: '0.25',
      [ENV.PAYLOAD_LOG_REDACT]: 'features, label,',
    });
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({
      feedbackStoreSize: 0,
      feedbackOutput: undefined,
      payloadLog: 'http',
      payloadLogUrl: 'https://collector.example/events',
      payloadLogSample: 0.25,
      payloadLogRedact: ['features', 'label'],
    });
  });
});

describe('TLS settings (serve and route)', () => {
  async function parseRoute(args: string[]): Promise<RouterConfig> {
    let config: RouterConfig | undefined;
    await buildProgram(
      () => undefined,
      (c) => {
        config = c;
      },
    ).parseAsync(['node', 'modelship-server', 'route', '--routes-file', '/r.json', ...args]);
    return config!;
  }

  it('are off by default, an empty directory variable too', async () => {
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({ metricsTls: false });
    expect((await parse(['--model-uri', '/m.onnx'])).tlsDir).toBeUndefined();
    process.env[ENV.TLS_DIR] = '';
    process.env[ENV.METRICS_TLS] = 'false';
    expect((await parse(['--model-uri', '/m.onnx'])).tlsDir).toBeUndefined();
    const route = await parseRoute([]);
    expect(route).toMatchObject({ metricsTls: false });
    expect(route.tlsDir).toBeUndefined();
    expect(route.backendCaFile).toBeUndefined();
  });

  it('are read from variables or flags', async () => {
    Object.assign(process.env, {
      [ENV.TLS_DIR]: '/etc/modelship/tls',
      [ENV.METRICS_TLS]: 'TRUE',
      [ENV.ROUTER_BACKEND_CA_FILE]: '/etc/modelship/backend-ca/ca.crt',
    });
    expect(await parse(['--model-uri', '/m.onnx'])).toMatchObject({
      tlsDir: '/etc/modelship/tls',
      metricsTls: true,
    });
    expect(await parseRoute([])).toMatchObject({
      tlsDir: '/etc/modelship/tls',
      metricsTls: true,
      backendCaFile: '/etc/modelship/backend-ca/ca.crt',
    });
    expect(
      await parse(['--model-uri', '/m.onnx', '--tls-dir', '/t', '--metrics-tls', 'false']),
    ).toMatchObject({
      tlsDir: '/t',
      metricsTls: false,
    });
  });
});

async function parseInspect(args: string[]): Promise<InspectConfig> {
  let config: InspectConfig | undefined;
  await buildProgram(
    () => undefined,
    () => undefined,
    (c) => {
      config = c;
    },
  ).parseAsync(['node', 'modelship-server', 'inspect', ...args]);
  return config!;
}

describe('inspect configuration', () => {
  it("takes serve's model-loading settings with their defaults, and its own", async () => {
    const c = await parseInspect(['--model-uri', '/m.onnx']);
    expect(c).toEqual({
      modelUri: '/m.onnx',
      intraOpThreads: 0,
      interOpThreads: 0,
      cacheDir: expect.any(String),
      pvcRoot: '/mnt/pvc',
      maxModelBytes: 2 ** 31,
      loadAttempts: 3,
      loadRetryDelayMs: 2000,
      fetchTimeoutMs: 300_000,
      logLevel: 'info',
      holdoutUri: undefined,
      maxHoldoutBytes: 64 * 1024 * 1024,
      requireDigest: false,
      terminationLog: '/dev/termination-log',
      timeoutMs: 900_000,
    });
  });

  it('reads its variables, and an empty holdout URI means none', async () => {
    Object.assign(process.env, {
      [ENV.MODEL_URI]: 'pvc://runs/7/model.onnx',
      [ENV.MODEL_SHA256]: 'B'.repeat(64),
      [ENV.HOLDOUT_URI]: 'pvc://runs/7/holdout.json',
      [ENV.TERMINATION_LOG]: '/tmp/term',
      [ENV.INSPECT_TIMEOUT_MS]: '5000',
      [ENV.MAX_HOLDOUT_BYTES]: '1024',
    });
    expect(await parseInspect([])).toMatchObject({
      modelUri: 'pvc://runs/7/model.onnx',
      modelSha256: 'b'.repeat(64),
      holdoutUri: 'pvc://runs/7/holdout.json',
      terminationLog: '/tmp/term',
      timeoutMs: 5000,
      maxHoldoutBytes: 1024,
    });
    expect(await parseInspect(['--holdout', ''])).toMatchObject({ holdoutUri: undefined });
  });
});
