import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readVersions, repoRoot } from '../versions.js';
import { fileInputs, hashInputs } from './hash.js';
import { nodeBaseRef } from './node-base.js';
import { DOCKERFILE, dockerfileBaseImages, serverInputFiles } from './server.js';

describe('dockerfileBaseImages', () => {
  it('lists external bases once, without stage names, scratch or flags', () => {
    const dockerfile = [
      'FROM --platform=linux/amd64 node:26-bookworm-slim AS build',
      'RUN echo FROM nothing',
      'FROM build AS test',
      'from node:26-bookworm-slim as runtime',
      'FROM scratch',
      'FROM \\',
      '  debian:bookworm',
      'COPY --from=build /a /b',
    ].join('\n');
    expect(dockerfileBaseImages(dockerfile)).toEqual(['node:26-bookworm-slim', 'debian:bookworm']);
  });

  it('finds in server-image/Dockerfile only the base image node-base makes', () => {
    const dockerfile = readFileSync(join(repoRoot, DOCKERFILE), 'utf8');
    expect(dockerfileBaseImages(dockerfile)).toEqual([nodeBaseRef(readVersions())]);
  });
});

describe('serverInputFiles', () => {
  it('covers the Dockerfile, the npm files, every source file and what the build compiles outside them', async () => {
    const files = await serverInputFiles(repoRoot);
    for (const f of [
      'server-image/Dockerfile',
      '.dockerignore',
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.json',
      'tsconfig.build.json',
      'server-image/tsconfig.build.json',
      'server-image/package.json',
      'server-image/src/cli.ts',
    ]) {
      expect(files).toContain(f);
    }
    // The image compiles the server only: the operator and the tooling are not inputs, but the manifest of every
    // npm workspace is (npm ci reads them all).
    expect(files).toContain('operator/package.json');
    expect(files.filter((f) => /^(operator|scripts|cluster|test)\//.test(f))).toEqual([
      'operator/package.json',
    ]);
    expect(files.filter((f) => f.includes('node_modules/') || f.startsWith('dist/'))).toEqual([]);
    expect([...files].sort()).toEqual(files);
  });

  it('changes the hash when a file imported from outside the compiled folders changes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ms-inputs-'));
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    try {
      write('package.json', '{"version":"1.0.0","workspaces":["server-image"]}');
      write('server-image/package.json', '{"name":"server","dependencies":{}}');
      write('tsconfig.build.json', '{ "include": ["operator/src"] }');
      write(
        'server-image/tsconfig.build.json',
        '{ "extends": "../tsconfig.build.json", "include": ["src"], "exclude": ["**/*.test.ts"] }',
      );
      write('server-image/src/a.ts', "import { b } from '../../lib/b.js';\nexport const a = b;\n");
      write('server-image/src/notes.md', 'not compiled, but copied into the build context');
      write('lib/b.ts', "import type { C } from './c/index.js';\nexport const b: C = 1;\n");
      write('lib/c/index.ts', 'export type C = number;\n');
      write('lib/unused.ts', 'export const unused = 1;\n');
      write('node_modules/x/index.ts', 'export {};\n');
      const files = await serverInputFiles(root);
      expect(files).toEqual(
        [
          '.dockerignore',
          '.npmrc',
          'lib/b.ts',
          'lib/c/index.ts',
          'package-lock.json',
          'package.json',
          'server-image/Dockerfile',
          'server-image/package.json',
          'server-image/src/a.ts',
          'server-image/src/notes.md',
          'server-image/tsconfig.build.json',
          'tsconfig.build.json',
        ].sort(),
      );
      const hash = async () => hashInputs('server', await fileInputs(root, await serverInputFiles(root)));
      const before = await hash();
      write('lib/unused.ts', 'export const unused = 2;\n');
      expect(await hash()).toBe(before);
      write('lib/c/index.ts', 'export type C = 1;\n');
      expect(await hash()).not.toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
