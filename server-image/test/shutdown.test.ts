/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Graceful shutdown: on SIGTERM readiness turns false and the listening socket closes at once, so new connections
 * are refused (a client can retry a refusal elsewhere, even a POST); requests on connections already open are
 * answered, each with `Connection: close`; the process exits 0 once the drain is over. No client ever sees a reset.
 */
import { describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cluster/src/process.js';
import { benchTabularModel } from '../../test/fixtures/onnx/models.js';
import { DRAIN_QUIET_MS } from '../src/main.js';
import { FakeClock } from '../src/testing/fake-clock.js';
import { spawnServer } from './support/child.js';
import { http } from './support/client.js';
import { startTestServer, waitForPending, waitUntil } from './support/server.js';

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
  status?: number;
  /** The error code (ECONNREFUSED, ECONNRESET...) or message of a request that got no response. */
  error?: string;
  connection?: string;
  afterSigterm: boolean;
}

/** One inference POST through `agent` (keep-alive), never rejecting: the outcome says what happened. */
function post(agent: Agent, port: number): Promise<Omit<Outcome, 'afterSigterm'>> {
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
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(BODY);
  });
}

describe('graceful shutdown', () => {
  it('16 looping keep-alive clients and SIGTERM: every request is answered 200 or refused, none reset; exit 0', async () => {
    const CLIENTS = 16;
    const SIGTERM_AFTER = 300; // answered requests
    const dir = await mkdtemp(join(tmpdir(), 'modelship-shutdown-'));
    try {
      const modelPath = join(dir, 'tabular.onnx');
      await writeFile(modelPath, benchTabularModel());
      // Access lines off (the test process reads the child's stdout, and it is also the load generator), so
      // 'listening' is not logged either: the port is chosen here.
      const port = await freePort();
      const child = spawnServer({
        MODELSHIP_MODEL_NAME: 'tabular',
        MODELSHIP_MODEL_URI: modelPath,
        MODELSHIP_LOG_LEVEL: 'warn',
        MODELSHIP_PORT: String(port),
      });
      try {
        await waitUntil(
          'the server is ready',
          async () =>
            (await http(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => undefined))?.status === 200,
          60_000,
        );
        const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
        const outcomes: Outcome[] = [];
        let sigtermSent = false;
        let answered = 0;
        let enoughAnswered!: () => void;
        const sigtermTime = new Promise<void>((resolve) => (enoughAnswered = resolve));
        // Each client sends its next request when the previous answer arrives, until a request is not answered
        // 200 (after SIGTERM: refused, as it would then go to another pod).
        const client = async () => {
          for (;;) {
            const afterSigterm = sigtermSent;
            const outcome = { ...(await post(agent, port)), afterSigterm };
            outcomes.push(outcome);
            if (outcome.status !== 200) return;
            if (++answered === SIGTERM_AFTER) enoughAnswered();
          }
        };
        const clients = Array.from({ length: CLIENTS }, client);
        await sigtermTime;
        sigtermSent = true;
        child.kill('SIGTERM');
        await Promise.all(clients);
        agent.destroy();
        expect(await child.exited).toBe(0);

        // Nothing but 200s and, after SIGTERM, refused connections: no reset, no hang-up, no HTTP error.
        const failures = outcomes.filter(
          (o) => o.status !== 200 && !(o.error === 'ECONNREFUSED' && o.afterSigterm),
        );
        expect(failures).toEqual([]);
        // Every client ended on a refusal, after answers that asked it to close its connection.
        expect(outcomes.filter((o) => o.error === 'ECONNREFUSED')).toHaveLength(CLIENTS);
        expect(
          outcomes.filter((o) => o.status === 200 && o.connection === 'close').length,
        ).toBeGreaterThanOrEqual(CLIENTS);
        expect(answered).toBeGreaterThanOrEqual(SIGTERM_AFTER);
        expect(child.logs.filter((l) => l.level === 'error')).toEqual([]);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('readiness turns false and new connections are refused at once, while a queued request still finishes', async () => {
    const clock = new FakeClock();
    const s = await startTestServer(
      benchTabularModel(),
      { modelName: 'tabular', maxQueueDelayMs: 400 },
      { clock },
    );
    const agent = new Agent({ keepAlive: true });
    try {
      const queued = post(agent, Number(new URL(s.base).port));
      await waitForPending(s, 1); // it waits in the batching queue until the clock moves
      const stopping = s.server.shutdown();
      const metrics = await http(`${s.metricsBase}/metrics`);
      expect(metrics.body.toString()).toContain(
        'modelship_model_ready{model="tabular",version="1",revision="test-rev"} 0',
      );
      // Kubernetes' readiness probe cannot connect: refused by the kernel, not reset after connecting.
      await expect(http(`${s.base}/v2/health/ready`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await clock.advance(400);
      // The queued request is answered, and its keep-alive client asked to close.
      expect(await queued).toEqual({ status: 200, connection: 'close' });
      await clock.advance(DRAIN_QUIET_MS);
      await stopping;
      expect(s.logs.find((l) => l.message === 'stopped')).toMatchObject({ drained: true });
    } finally {
      agent.destroy();
      await s.stop();
    }
  });

  it('an idle keep-alive connection stays open through the quiet period and its next request is answered', async () => {
    const clock = new FakeClock();
    const s = await startTestServer(benchTabularModel(), { modelName: 'tabular' }, { clock });
    const port = Number(new URL(s.base).port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await post(agent, port)).toEqual({ status: 200, connection: 'keep-alive' });
      const stopping = s.server.shutdown();
      await clock.advance(DRAIN_QUIET_MS - 1);
      // Sent on the connection that was idle when SIGTERM came: served, and asked to close.
      expect(await post(agent, port)).toEqual({ status: 200, connection: 'close' });
      // The next one needs a new connection: refused.
      expect(await post(agent, port)).toEqual({ error: 'ECONNREFUSED' });
      await clock.advance(DRAIN_QUIET_MS);
      await stopping;
      expect(s.logs.find((l) => l.message === 'stopped')).toMatchObject({ drained: true });
    } finally {
      agent.destroy();
      await s.stop();
    }
  });
});
