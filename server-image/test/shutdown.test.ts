/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Graceful shutdown: on SIGTERM readiness turns false at once, in-flight and queued requests finish, the process
 * exits 0, and no request that was accepted fails.
 */
import { describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTabularModel } from '../../test/fixtures/onnx/models.js';
import { spawnServer } from './support/child.js';
import { http, postJson } from './support/client.js';
import { startTestServer } from './support/server.js';

const BODY = JSON.stringify({
  inputs: [
    {
      name: 'features',
      shape: [1, 30],
      datatype: 'FP32',
      data: Array.from({ length: 30 }, (_, i) => i / 30),
    },
  ],
});

interface Outcome {
  startedAt: number;
  status?: number;
  error?: string;
}

function post(agent: Agent, port: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v2/models/tabular/infer',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
        res.on('error', (e) => resolve({ error: e.message }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(BODY);
  });
}

describe('graceful shutdown', () => {
  it('under load, SIGTERM loses no accepted request and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-shutdown-'));
    try {
      const modelPath = join(dir, 'tabular.onnx');
      await writeFile(modelPath, benchTabularModel());
      const child = spawnServer({ MODELSHIP_MODEL_NAME: 'tabular', MODELSHIP_MODEL_URI: modelPath });
      try {
        const { port } = await child.listening;
        // 'warn' hides 'model ready'; poll readiness instead.
        for (let i = 0; ; i++) {
          const r = await http(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => undefined);
          if (r?.status === 200) break;
          if (i > 300)
            throw new Error(
              `server never became ready: ${JSON.stringify(child.logs)} ${child.stderr.join('')}`,
            );
          await new Promise((res) => setTimeout(res, 50));
        }
        const agent = new Agent({ keepAlive: true, maxSockets: 16 });
        const outcomes: Outcome[] = [];
        let sigtermAt = Infinity;
        const loop = async () => {
          for (;;) {
            const startedAt = performance.now();
            const r = await post(agent, port);
            outcomes.push({ startedAt, ...r });
            // After SIGTERM, a refused or closed connection is expected: this client would go to another pod.
            if (r.error !== undefined && startedAt >= sigtermAt) return;
            if (r.error !== undefined) throw new Error(`request failed before SIGTERM: ${r.error}`);
          }
        };
        const loops = Array.from({ length: 16 }, loop);
        await new Promise((r) => setTimeout(r, 500));
        sigtermAt = performance.now();
        child.kill('SIGTERM');
        await Promise.all(loops);
        agent.destroy();
        expect(await child.exited).toBe(0);

        const before = outcomes.filter((o) => o.startedAt < sigtermAt);
        expect(before.length).toBeGreaterThan(50);
        // Every request sent before SIGTERM was answered 200, including those in flight when it arrived.
        expect(before.filter((o) => o.status !== 200)).toEqual([]);
        // No request ever got an HTTP error; after SIGTERM only connection-level refusals are allowed.
        expect(outcomes.filter((o) => o.status !== undefined && o.status !== 200)).toEqual([]);
        expect(child.logs.some((l) => l.level === 'error')).toBe(false);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('readiness turns false at once while queued requests still finish', async () => {
    const s = await startTestServer(benchTabularModel(), { modelName: 'tabular', maxQueueDelayMs: 400 });
    const queued = postJson(`${s.base}/v2/models/tabular/infer`, BODY);
    await new Promise((r) => setTimeout(r, 50)); // the request now waits in the batching queue
    const stopping = s.server.shutdown();
    const metrics = await http(`${s.metricsBase}/metrics`);
    expect(metrics.body.toString()).toContain(
      'modelship_model_ready{model="tabular",version="1",revision="test-rev"} 0',
    );
    // New connections are dropped: Kubernetes' readiness probe fails and traffic goes elsewhere. (Connections
    // already open are served on, each answer asking the client to close: see the test above.)
    await expect(http(`${s.base}/v2/health/ready`)).rejects.toThrow(/ECONNRESET|ECONNREFUSED|socket hang up/);
    const r = await queued;
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    await stopping;
    expect(s.logs.find((l) => l.message === 'stopped')).toMatchObject({ drained: true });
    await s.stop();
  });
});
