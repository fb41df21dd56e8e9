import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVersions, repoRoot } from '../versions.js';
import { dockerfileBaseImages } from './dockerfile.js';
import { nodeBaseRef } from './node-base.js';
import { DOCKERFILE, operatorInputFiles } from './operator.js';
import { compiledFiles, relativeToRepo } from './sources.js';

describe('operator/Dockerfile', () => {
  it('builds only FROM the base image node-base makes', () => {
    const dockerfile = readFileSync(join(repoRoot, DOCKERFILE), 'utf8');
    expect(dockerfileBaseImages(dockerfile)).toEqual([nodeBaseRef(readVersions())]);
  });
});

describe('operatorInputFiles', () => {
  it('covers the Dockerfile, the npm files, every operator source and the server files the operator imports', async () => {
    const files = await operatorInputFiles(repoRoot);
    for (const f of [
      'operator/Dockerfile',
      '.dockerignore',
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.json',
      'tsconfig.build.json',
      'operator/tsconfig.build.json',
      'operator/package.json',
      'server-image/package.json',
      'operator/src/main.ts',
      // Compiled although not imported by main.ts: `COPY . .` copies the whole folder.
      'operator/src/plugin/cli.ts',
      // Outside operator/src, imported by the operator and compiled with it.
      'server-image/src/env.ts',
      'server-image/src/router/routes.ts',
    ]) {
      expect(files).toContain(f);
    }
    // Exactly what `tsc -p operator/tsconfig.build.json` reads is in, whatever folder it lies in.
    const compiled = relativeToRepo(repoRoot, compiledFiles(repoRoot, 'operator/tsconfig.build.json'));
    expect(compiled).toContain('operator/src/main.ts');
    expect(compiled).not.toContain('operator/src/plugin/cli.ts');
    expect(compiled.filter((f) => !files.includes(f))).toEqual([]);
    // The rest of the serving runtime, the tooling and the tests are not inputs.
    expect(files.filter((f) => f.startsWith('server-image/src/'))).toEqual(
      compiled.filter((f) => f.startsWith('server-image/src/')),
    );
    expect(files.filter((f) => /^(scripts|cluster|test|bench)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.includes('node_modules/') || f.startsWith('dist/'))).toEqual([]);
    expect([...files].sort()).toEqual(files);
  });
});
