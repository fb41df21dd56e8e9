/**
 * A real router (`modelship-server route`) on loopback for the server tier, reading its route table from a file
 * the test can rewrite (the router picks up each change, as it does a ConfigMap's).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRouter, type RouterConfig, type RunningRouter } from '../../src/router/main.js';
import type { RouteTable } from '../../src/router/routes.js';
import { captureLogger } from './server.js';

export interface TestRouter {
  router: RunningRouter;
  base: string;
  metricsBase: string;
  /** Every log entry so far, parsed. */
  logs: Record<string, unknown>[];
  /** Writes a new route table (or any text, to test a malformed one). */
  setTable(table: RouteTable | string): Promise<void>;
  /** Stops the router (if the test has not) and removes its table. */
  stop(): Promise<void>;
}

export async function startTestRouter(
  table: RouteTable,
  overrides: Partial<RouterConfig> = {},
): Promise<TestRouter> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-router-'));
  const routesFile = join(dir, 'routes.json');
  const setTable = (t: RouteTable | string) =>
    writeFile(routesFile, typeof t === 'string' ? t : JSON.stringify(t));
  await setTable(table);
  const { logger, logs } = captureLogger();
  const router = await startRouter(
    {
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      routesFile,
      upstreamTimeoutMs: 10_000,
      maxRequestsPerConnection: 1000,
      drainTimeoutMs: 5_000,
      logLevel: 'debug',
      ...overrides,
    },
    { logger },
  ).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  await router.ready;
  return {
    router,
    base: `http://127.0.0.1:${router.port}`,
    metricsBase: `http://127.0.0.1:${router.metricsPort}`,
    logs,
    setTable,
    stop: async () => {
      await router.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
