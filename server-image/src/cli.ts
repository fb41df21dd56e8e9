#!/usr/bin/env node
/**
 * `modelship-server serve` (the model), `modelship-server route` (the router in front of a ModelDeployment's
 * revisions), `modelship-server inspect` (a model validated once, by a Job) and `modelship-server baseline` (an
 * input drift baseline from a sample): the serving image's entry point (the npm bin and the image's ENTRYPOINT).
 * Exit codes: 0 after a graceful shutdown (SIGTERM/SIGINT), 1 when the model could not be loaded (or its
 * onnxruntime worker died), 2 for bad flags. inspect: 0 when the model passed, 1 when not (the result says why).
 * baseline: 0 when written, 1 when the sample cannot give one.
 */
import { buildProgram } from './config.js';
import { runInspect } from './inspect/command.js';
import { runBaselineCommand } from './monitoring/drift/command.js';
import { createLogging, stdoutLines } from './logger.js';
import { startServer } from './main.js';
import { startRouter } from './router/main.js';

/** After a graceful stop, leftover handles must not keep a terminating pod alive. */
const FORCED_EXIT_MS = 5_000;

const program = buildProgram(
  async (config) => {
    // One writer for the logs and the payload log's lines, so they never interleave mid-line.
    const stdout = stdoutLines();
    const { logger, access } = createLogging(config.logLevel, { model: config.modelName }, stdout);
    const server = await startServer(config, { logger, accessLog: access, stdout });
    let signalled = false;
    const stop = (signal: string, code: number) => {
      signalled = true;
      logger.info('signal received', { signal });
      void server.shutdown().then(() => exitSoon(code));
    };
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    const ok = await server.loaded;
    // A signal during the load is a graceful stop (exit 0), not a failed load.
    if (!ok && !signalled) {
      // With the reason: the last log lines become the pod's termination message, which the operator shows.
      logger.error('giving up: the model could not be loaded; exiting with status 1', {
        error: server.failure(),
      });
      await server.shutdown();
      exitSoon(1);
      return;
    }
    void server.broken.then(async () => {
      await server.shutdown();
      exitSoon(1);
    });
  },
  async (config) => {
    const { logger } = createLogging(config.logLevel, { component: 'router' });
    const router = await startRouter(config, { logger });
    const stop = (signal: string) => {
      logger.info('signal received', { signal });
      void router.shutdown().then(() => exitSoon(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  },
  runInspect,
  runBaselineCommand,
);

function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), FORCED_EXIT_MS).unref();
}

await program.parseAsync(process.argv);
