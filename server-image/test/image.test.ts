/**
 * The Dockerfile stays honest with the code: hadolint finds nothing, the entrypoint is the compiled cli.ts and
 * the npm bin, every MODELSHIP_* variable it sets is one the server reads, the ports are the defaults.
 * (No container engine runs here; the image itself is built by `buildah bud -f server-image/Dockerfile .`.)
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ENV from '../src/env.js';
import { ensurePythonTool } from './support/python-tool.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dockerfilePath = `${repo}server-image/Dockerfile`;
const dockerfile = readFileSync(dockerfilePath, 'utf8');
const run = promisify(execFile);

/** Dockerfile instructions with continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('server-image/Dockerfile', () => {
  it('passes hadolint', async () => {
    const hadolint = await ensurePythonTool('hadolint');
    const result = await run(hadolint, [dockerfilePath]).catch(
      (err: { stdout?: string; code?: number }) => err,
    );
    expect('stdout' in result ? result.stdout : '').toBe('');
  }, 300_000);

  it('uses the Node LTS slim base in both stages and runs as a numeric non-root user', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toEqual(['FROM node:26-bookworm-slim AS build', 'FROM node:26-bookworm-slim AS runtime']);
    const user = instructions.filter((l) => l.startsWith('USER ')).pop();
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
  });

  it('enters through the compiled cli.ts, the same file as the npm bin, with the serve command', () => {
    const pkg = JSON.parse(readFileSync(`${repo}package.json`, 'utf8'));
    expect(pkg.bin['modelship-server']).toBe('dist/server-image/src/cli.js');
    expect(instructions).toContain('ENTRYPOINT ["node", "/app/dist/server-image/src/cli.js"]');
    expect(instructions).toContain('CMD ["serve"]');
    expect(instructions).toContain('COPY --from=build /src/dist/server-image/src /app/dist/server-image/src');
    // tsc (outDir dist, rootDir .) compiles server-image/src/cli.ts to dist/server-image/src/cli.js.
    const tsconfig = readFileSync(`${repo}tsconfig.json`, 'utf8');
    expect(tsconfig).toMatch(/"outDir": "dist"/);
    expect(tsconfig).toMatch(/"rootDir": "\."/);
    expect(existsSync(`${repo}server-image/src/cli.ts`)).toBe(true);
    expect(readFileSync(`${repo}tsconfig.build.json`, 'utf8')).toContain('"server-image/src"');
  });

  it('sets only environment variables the server knows, and exposes the default ports', () => {
    const names = [...dockerfile.matchAll(/\b(MODELSHIP_[A-Z0-9_]+)/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(ENV.ALL_ENV_VARS).toContain(name);
    expect(instructions).toContain(`EXPOSE ${ENV.DEFAULTS.port} ${ENV.DEFAULTS.metricsPort}`);
    expect(dockerfile).toContain(`${ENV.PORT}=${ENV.DEFAULTS.port}`);
    expect(dockerfile).toContain(`${ENV.METRICS_PORT}=${ENV.DEFAULTS.metricsPort}`);
  });

  it('never downloads CUDA and keeps only linux/x64 onnxruntime binaries', () => {
    expect(dockerfile.match(/ONNXRUNTIME_NODE_INSTALL=skip/g)?.length).toBe(2);
    for (const dir of ['win32', 'darwin', 'linux/arm64']) expect(dockerfile).toContain(`napi-v6/${dir}`);
  });

  it("installs the server workspace's production dependencies only, with every workspace manifest in place", () => {
    const runtime = instructions.slice(instructions.findIndex((l) => l.endsWith('AS runtime')));
    expect(runtime.find((l) => l.includes('npm ci'))).toMatch(
      /^RUN npm ci --omit=dev --workspace server-image /,
    );
    // npm ci reads the manifest of every workspace the root declares: each is copied before each npm ci.
    const { workspaces = [] } = JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as {
      workspaces?: string[];
    };
    expect(workspaces).toContain('server-image');
    for (const stage of ['build', 'runtime']) {
      const lines = instructions.slice(instructions.findIndex((l) => l.endsWith(`AS ${stage}`)));
      const install = lines.findIndex((l) => l.startsWith('RUN npm ci'));
      for (const w of workspaces) expect(lines.slice(0, install)).toContain(`COPY ${w}/package.json ${w}/`);
    }
  });

  it('the build context ignores local state', () => {
    const ignore = readFileSync(`${repo}.dockerignore`, 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.git']) expect(ignore).toContain(entry);
  });
});
