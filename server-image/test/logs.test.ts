/**
 * The process's own logs, as Kubernetes collects them: JSON lines on stdout from the real `modelship-server serve`.
 * Access lines take a faster path than winston (src/logger.ts) and are written once per event-loop turn, so this
 * checks their shape, one line per request, and that nothing is lost or reordered at exit.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { spawnServer } from './support/child.js';
import { http, postJson } from './support/client.js';

const ROW = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

describe('logs on stdout', () => {
  it('one JSON access line per request, in order before the shutdown lines, none lost at exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-logs-'));
    const modelPath = join(dir, 'iris.onnx');
    await writeFile(modelPath, irisModel());
    const child = spawnServer({ MODELSHIP_MODEL_NAME: 'iris', MODELSHIP_MODEL_URI: modelPath });
    try {
      const { port } = await child.listening;
      await child.waitForLog((l) => l.message === 'model ready');
      const base = `http://127.0.0.1:${port}`;
      const ok = await postJson(`${base}/v2/models/iris/infer`, ROW, { 'x-request-id': 'log-test-1' });
      expect(ok.status).toBe(200);
      const bad = await postJson(`${base}/v2/models/iris/infer`, 'not json', {
        'x-request-id': 'log-test-2',
      });
      expect(bad.status).toBe(400);
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          http(`${base}/v2/health/live`, { headers: { 'x-request-id': `log-burst-${i}` } }),
        ),
      );
      expect(many.every((r) => r.status === 200)).toBe(true);
      child.kill('SIGTERM');
      expect(await child.exited).toBe(0);

      const access = child.logs.filter((l) => l.message === 'request');
      expect(access.find((l) => l.requestId === 'log-test-1')).toEqual({
        model: 'iris',
        method: 'POST',
        path: '/v2/models/iris/infer',
        status: 200,
        durationMs: expect.any(Number),
        requestId: 'log-test-1',
        level: 'info',
        message: 'request',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(access.find((l) => l.requestId === 'log-test-2')).toMatchObject({ status: 400 });
      const burst = access.filter((l) => String(l.requestId).startsWith('log-burst-'));
      expect(burst.map((l) => l.requestId).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `log-burst-${i}`).sort(),
      );
      // Every line parsed as JSON, and the access lines come before the shutdown's own lines.
      expect(child.logs.filter((l) => 'unparsed' in l)).toEqual([]);
      const messages = child.logs.map((l) => l.message);
      const lastAccess = messages.lastIndexOf('request');
      expect(lastAccess).toBeLessThan(messages.indexOf('stopped'));
      expect(messages.at(-1)).toBe('stopped');
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
