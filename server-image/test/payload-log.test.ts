/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Payload (audit) logs against real servers: sampling, redaction and the size cap on stdout lines; the real CLI's
 * stdout; and a real HTTP collector that goes down and comes back while inference goes on.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { LineWriter } from '../src/logger.js';
import { spawnServer } from './support/child.js';
import { http, postJson, type Json } from './support/client.js';
import { scrape } from './support/scrape.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';

// Each test starts a real server (an onnxruntime session) on a busy machine: seconds, not milliseconds.
jest.setTimeout(60_000);

const features = [5.1, 3.5, 1.4, 0.2];
const one = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: features }] };

async function infer(s: { base: string }, requestId: string, body: unknown = one): Promise<number> {
  return (await postJson(`${s.base}/v2/models/iris/infer`, body, { 'x-request-id': requestId })).status;
}

/** A stdout line writer whose lines the test reads, parsed. */
function captureLines(): { out: LineWriter; lines: Json[] } {
  const lines: Json[] = [];
  const out = new LineWriter((text) => {
    for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line));
  });
  return { out, lines };
}

describe('payload log on stdout', () => {
  it('logs the sampled requests only: sample 0.5 with known random numbers', async () => {
    const { out, lines } = captureLines();
    const randoms = [0.25, 0.75];
    let n = 0;
    const s = await startTestServer(
      irisModel(),
      { modelName: 'iris', payloadLog: 'stdout', payloadLogSample: 0.5 },
      { deps: { stdout: out, random: () => randoms[n++ % 2]! } },
    );
    try {
      for (let i = 0; i < 6; i++) expect(await infer(s, `r${i}`)).toBe(200);
      await waitUntil('3 records are written', async () => (out.flush(), lines.length === 3));
      expect(lines.map((l) => l.requestId)).toEqual(['r0', 'r2', 'r4']);
      const m = await scrape(s.metricsBase);
      expect(m.value('modelship_payload_log_records_total{result="sent",revision="test-rev"}')).toBe(3);
      expect(m.value('modelship_payload_log_records_total{result="unsampled",revision="test-rev"}')).toBe(3);
      expect(m.value('modelship_payload_log_dropped_total{reason="queue_full",revision="test-rev"}')).toBe(0);
    } finally {
      await s.stop();
    }
  });

  it('writes every field; redacted tensors carry a hash and no data; failures carry their error', async () => {
    const { out, lines } = captureLines();
    const s = await startTestServer(
      irisModel(),
      { modelName: 'iris', payloadLog: 'stdout', payloadLogRedact: ['features'] },
      { deps: { stdout: out } },
    );
    try {
      const body = { id: 'proto-1', ...one };
      const answer = await postJson(`${s.base}/v2/models/iris/infer`, body, { 'x-request-id': 'red-1' });
      expect(await infer(s, 'bad-1', { inputs: [] })).toBe(400);
      await waitUntil('2 records are written', async () => (out.flush(), lines.length === 2));
      const [ok, bad] = lines;
      expect(ok).toEqual({
        type: 'payload',
        requestId: 'red-1',
        id: 'proto-1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        model: 'iris',
        version: '1',
        revision: 'test-rev',
        status: 200,
        latencyMs: expect.any(Number),
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [1, 4],
            sha256: createHash('sha256')
              .update(Buffer.from(Float32Array.from(features).buffer))
              .digest('hex'),
          },
        ],
        outputs: answer.json.outputs.map((o: Json) => ({
          name: o.name,
          datatype: o.datatype,
          shape: o.shape,
          data: o.data,
        })),
      });
      expect(JSON.stringify(ok)).not.toContain('5.1');
      expect(bad).toMatchObject({
        requestId: 'bad-1',
        status: 400,
        error: expect.stringMatching(/non-empty "inputs" array/),
        inputs: [],
        outputs: [],
      });
    } finally {
      await s.stop();
    }
  });

  it('keeps only the metadata of a record over --payload-log-max-bytes', async () => {
    const { out, lines } = captureLines();
    const s = await startTestServer(
      irisModel(),
      { modelName: 'iris', payloadLog: 'stdout', payloadLogMaxBytes: 300 },
      { deps: { stdout: out } },
    );
    try {
      expect(await infer(s, 'big-1')).toBe(200);
      await waitUntil('a record is written', async () => (out.flush(), lines.length === 1));
      expect(lines[0]).toMatchObject({
        requestId: 'big-1',
        status: 200,
        truncated: true,
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], truncated: true }],
      });
      expect(lines[0].inputs[0].data).toBeUndefined();
      expect(lines[0].outputs.every((o: Json) => o.truncated === true && o.data === undefined)).toBe(true);
    } finally {
      await s.stop();
    }
  });
});

describe('payload log through the real CLI', () => {
  let dir: string;
  let modelPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-payload-'));
    modelPath = join(dir, 'iris.onnx');
    await writeFile(modelPath, irisModel());
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes payload lines on stdout beside the access lines, told apart by "type"', async () => {
    const child = spawnServer({
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_MODEL_URI: modelPath,
      MODELSHIP_PAYLOAD_LOG: 'stdout',
      MODELSHIP_REVISION: 'rev-cli',
    });
    try {
      const { port } = await child.listening;
      await child.waitForLog((l) => l.message === 'model ready');
      expect(await infer({ base: `http://127.0.0.1:${port}` }, 'cli-1')).toBe(200);
      const payload = await child.waitForLog((l) => l.type === 'payload');
      expect(payload).toMatchObject({ requestId: 'cli-1', model: 'iris', revision: 'rev-cli', status: 200 });
      expect(payload.level).toBeUndefined();
      const access = await child.waitForLog((l) => l.message === 'request' && l.requestId === 'cli-1');
      expect(access.type).toBeUndefined();
    } finally {
      child.kill();
      expect(await child.exited).toBe(0);
    }
  }, 60_000);

  it('refuses --payload-log http without a collector URL, with status 2', async () => {
    const child = spawnServer({ MODELSHIP_MODEL_URI: modelPath, MODELSHIP_PAYLOAD_LOG: 'http' });
    expect(await child.exited).toBe(2);
    expect(child.stderr.join('')).toMatch(/--payload-log http needs the collector's URL: --payload-log-url/);
  }, 60_000);
});

/** A CloudEvents collector on loopback that can be stopped (connections refused) and started again on its port. */
class Collector {
  readonly events: Json[] = [];
  readonly contentTypes = new Set<string>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.contentTypes.add(String(req.headers['content-type']));
        this.events.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json[]));
        res.writeHead(202).end();
      });
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    server.close();
    server.closeAllConnections();
    await once(server, 'close');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  requestIds(): string[] {
    return this.events.map((e) => e.data.requestId as string);
  }
}

describe('payload log to an HTTP collector', () => {
  const ids = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `r${String(from + i).padStart(4, '0')}`);

  it('never blocks inference while the collector is down, counts the drops, and delivers the rest in order', async () => {
    const collector = new Collector();
    await collector.start();
    const s = await startTestServer(
      irisModel(),
      {
        modelName: 'iris',
        payloadLog: 'http',
        payloadLogUrl: collector.url,
        payloadLogQueueSize: 20,
        payloadLogBatchSize: 5,
        payloadLogFlushMs: 10,
      },
      { deps: { payloadHttp: { backoffMs: 20, maxBackoffMs: 200, timeoutMs: 2000 } } },
    );
    const metric = async (series: string) => (await scrape(s.metricsBase)).value(series)!;
    const R = 'revision="test-rev"';
    try {
      // Up: everything arrives.
      for (const id of ids(0, 10)) expect(await infer(s, id)).toBe(200);
      await waitUntil('the first 10 records arrive', async () => collector.events.length === 10);
      expect(collector.requestIds()).toEqual(ids(0, 10));
      expect([...collector.contentTypes]).toEqual(['application/cloudevents-batch+json']);
      expect(collector.events[0]).toEqual({
        specversion: '1.0',
        type: 'dev.modelship.inference.payload',
        source: '/v2/models/iris/versions/1',
        id: expect.any(String),
        time: expect.any(String),
        datacontenttype: 'application/json',
        data: expect.objectContaining({ type: 'payload', requestId: 'r0000', model: 'iris' }),
      });

      // Down: every request still succeeds; the queue fills and the rest is dropped, counted.
      await collector.stop();
      // One client, in order, so request ids rise in the order the server answers them.
      const statuses: number[] = [];
      for (const id of ids(10, 60)) statuses.push(await infer(s, id));
      expect(statuses).toEqual(Array(50).fill(200));
      await waitUntil(
        'the queue is full and drops are counted',
        async () =>
          (await metric(`modelship_payload_log_dropped_total{reason="queue_full",${R}}`)) > 0 &&
          (await metric(`modelship_payload_log_queue_length{${R}}`)) === 20,
      );

      // Back: what the queue held arrives, in order, after what arrived before.
      await collector.start();
      await waitUntil(
        'the queue drains',
        async () => (await metric(`modelship_payload_log_queue_length{${R}}`)) === 0,
      );
      const delivered = collector.requestIds();
      expect(delivered.slice(0, 10)).toEqual(ids(0, 10));
      for (let i = 1; i < delivered.length; i++) expect(delivered[i]! > delivered[i - 1]!).toBe(true);
      expect(new Set(delivered).size).toBe(delivered.length);
      const dropped = await metric(`modelship_payload_log_dropped_total{reason="queue_full",${R}}`);
      const sent = await metric(`modelship_payload_log_records_total{result="sent",${R}}`);
      const queued = await metric(`modelship_payload_log_queue_length{${R}}`);
      expect(sent).toBe(delivered.length);
      expect(delivered.length).toBe(30); // 10 before, and the 20 the queue held
      expect(dropped + sent + queued).toBe(60);
    } finally {
      await s.stop();
      await collector.stop();
    }
  }, 60_000);

  it('delivers what is queued when the server shuts down', async () => {
    const collector = new Collector();
    await collector.start();
    const s = await startTestServer(irisModel(), {
      modelName: 'iris',
      payloadLog: 'http',
      payloadLogUrl: collector.url,
      payloadLogBatchSize: 100,
      payloadLogFlushMs: 600_000, // never due on its own during the test
    });
    try {
      for (const id of ids(0, 3)) expect(await infer(s, id)).toBe(200);
      expect(collector.events).toHaveLength(0);
    } finally {
      await s.stop();
    }
    expect(collector.requestIds()).toEqual(ids(0, 3));
    await collector.stop();
  }, 60_000);

  it('counts a batch the collector refuses (4xx) as dropped and goes on', async () => {
    let refuse = true;
    const received: Json[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (refuse) {
          refuse = false;
          res.writeHead(400).end('no');
          return;
        }
        received.push(...JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const s = await startTestServer(irisModel(), {
      modelName: 'iris',
      payloadLog: 'http',
      payloadLogUrl: url,
      payloadLogBatchSize: 1,
    });
    try {
      expect(await infer(s, 'first')).toBe(200);
      expect(await infer(s, 'second')).toBe(200);
      await waitUntil('the second record arrives', async () => received.length === 1);
      expect(received[0].data.requestId).toBe('second');
      const m = await scrape(s.metricsBase);
      expect(m.value('modelship_payload_log_dropped_total{reason="rejected",revision="test-rev"}')).toBe(1);
    } finally {
      await s.stop();
      server.close();
    }
  }, 60_000);
});

describe('no payload log (the default)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(irisModel(), { modelName: 'iris' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('exports none of its metrics', async () => {
    expect(await infer(s, 'x')).toBe(200);
    const text = (await http(`${s.metricsBase}/metrics`)).body.toString();
    expect(text).not.toContain('modelship_payload_log');
  });
});
