/**
 * The `serve` command's configuration as the CLI parses it, for the tests of its flags (excluded from the build),
 * and the environment put back after each test (the flags read MODELSHIP_* variables).
 */
import { afterEach } from '@jest/globals';
import { buildProgram, type ServerConfig } from '../config.js';
import { ALL_ENV_VARS } from '../env.js';

/** `modelship-server serve <args>` parsed, without starting anything. */
export async function parseServe(args: string[]): Promise<ServerConfig> {
  let config: ServerConfig | undefined;
  await buildProgram((c) => {
    config = c;
  }).parseAsync(['node', 'modelship-server', 'serve', ...args]);
  return config!;
}

/** Registers an afterEach that restores every MODELSHIP_* variable to its value when this was called. */
export function restoreServerEnvAfterEach(): void {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ALL_ENV_VARS) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
}
