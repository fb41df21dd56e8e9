import { describe, expect, it } from '@jest/globals';
import {
  importCandidates,
  parseJsonc,
  relativeSpecifiers,
  relativeToRepo,
  tsconfigPattern,
} from './sources.js';

describe('importCandidates', () => {
  it("maps NodeNext '.js' specifiers to the TypeScript file first", () => {
    expect(importCandidates('/r/src/a.ts', './b.js')).toEqual([
      '/r/src/b.ts',
      '/r/src/b.tsx',
      '/r/src/b.d.ts',
      '/r/src/b.js',
    ]);
    expect(importCandidates('/r/src/a.ts', '../lib/c.mjs')).toEqual([
      '/r/lib/c.mts',
      '/r/lib/c.d.mts',
      '/r/lib/c.mjs',
    ]);
  });

  it('tries a file, then a folder index, for extensionless specifiers; takes .json and .ts as written', () => {
    expect(importCandidates('/r/src/a.ts', './dir')).toEqual([
      '/r/src/dir.ts',
      '/r/src/dir.tsx',
      '/r/src/dir/index.ts',
      '/r/src/dir',
    ]);
    expect(importCandidates('/r/src/a.ts', '../package.json')).toEqual(['/r/package.json']);
    expect(importCandidates('/r/src/a.ts', './b.ts')).toEqual(['/r/src/b.ts']);
  });
});

describe('relativeToRepo', () => {
  it('gives sorted, unique, slash-separated paths', () => {
    expect(relativeToRepo('/r', ['/r/b/c.ts', '/r/a.ts', '/r/b/c.ts'])).toEqual(['a.ts', 'b/c.ts']);
  });
});

describe('tsconfigPattern', () => {
  const matches = (pattern: string, path: string) => tsconfigPattern(pattern).test(path);

  it('treats a bare folder as everything below it', () => {
    expect(matches('operator/src', 'operator/src/kube/informer.ts')).toBe(true);
    expect(matches('./scripts/', 'scripts/make-model.ts')).toBe(true);
    expect(matches('operator/src', 'operator/srcx/a.ts')).toBe(false);
    expect(matches('node_modules', 'node_modules/x/index.ts')).toBe(true);
  });

  it('reads ** as any depth and * within one folder', () => {
    expect(matches('**/*.test.ts', 'a.test.ts')).toBe(true);
    expect(matches('**/*.test.ts', 'operator/src/kube/a.test.ts')).toBe(true);
    expect(matches('**/*.test.ts', 'operator/src/kube/a.ts')).toBe(false);
    expect(matches('**/testing/**', 'server-image/src/testing/fake.ts')).toBe(true);
    expect(matches('src/*.ts', 'src/deep/a.ts')).toBe(false);
    expect(matches('src/?.ts', 'src/a.ts')).toBe(true);
  });

  it('takes a path with an extension as one file', () => {
    expect(matches('scripts/demo.ts', 'scripts/demo.ts')).toBe(true);
    expect(matches('scripts/demo.ts', 'scripts/demo.ts/x')).toBe(false);
  });
});

describe('relativeSpecifiers', () => {
  it('finds imports, re-exports, side-effect and dynamic imports, multi-line, and skips packages', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b/index.js';",
      'import {',
      '  c,',
      '  d,',
      "} from './cd.js';",
      "export * from './reexport.js';",
      "import './side-effect.js';",
      "const lazy = await import('./lazy.js');",
      "import { Command } from 'commander';",
      "import { readFile } from 'node:fs/promises';",
      '/// <reference path="./globals.d.ts" />',
    ].join('\n');
    expect(relativeSpecifiers(source).sort()).toEqual(
      [
        '../b/index.js',
        './a.js',
        './cd.js',
        './globals.d.ts',
        './lazy.js',
        './reexport.js',
        './side-effect.js',
      ].sort(),
    );
  });
});

describe('parseJsonc', () => {
  it('reads tsconfig-style JSON with comments and trailing commas, leaving strings alone', () => {
    const text =
      '{\n  // a comment\n  "include": ["src", /* inline */ "scripts",],\n  "$schema": "https://x/y//z",\n}';
    expect(parseJsonc(text)).toEqual({ include: ['src', 'scripts'], $schema: 'https://x/y//z' });
  });
});
