import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileInputs, hashInputs, requireVersion, versionInputs } from './hash.js';

describe('hashInputs', () => {
  const base = [
    { name: 'recipe', value: '1' },
    { name: 'version:COREDNS_VERSION', value: 'v1.14.7' },
    { name: 'file:a.ts', value: new Uint8Array([1, 2, 3]) },
  ];

  it('is a stable 16-hex-digit name that ignores the order inputs are listed in', () => {
    const h = hashInputs('coredns', base);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(hashInputs('coredns', [...base].reverse())).toBe(h);
    expect(hashInputs('coredns', base)).toBe(h);
  });

  it('changes when any input changes: a version, file bytes, a file name, the image id', () => {
    const h = hashInputs('coredns', base);
    const variants = [
      hashInputs('coredns', [base[0]!, { name: 'version:COREDNS_VERSION', value: 'v1.14.6' }, base[2]!]),
      hashInputs('coredns', [base[0]!, base[1]!, { name: 'file:a.ts', value: new Uint8Array([1, 2, 4]) }]),
      hashInputs('coredns', [base[0]!, base[1]!, { name: 'file:b.ts', value: new Uint8Array([1, 2, 3]) }]),
      hashInputs('coredns', [{ name: 'recipe', value: '2' }, base[1]!, base[2]!]),
      hashInputs('coredns', base.slice(0, 2)),
      hashInputs('s3', base),
    ];
    for (const v of variants) expect(v).not.toBe(h);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('does not let bytes move between adjacent inputs unnoticed', () => {
    const a = hashInputs('x', [
      { name: 'a', value: 'xy' },
      { name: 'b', value: 'z' },
    ]);
    const b = hashInputs('x', [
      { name: 'a', value: 'x' },
      { name: 'b', value: 'yz' },
    ]);
    expect(a).not.toBe(b);
  });

  it('refuses an input listed twice', () => {
    expect(() => hashInputs('x', [base[0]!, base[0]!])).toThrow(/listed twice/);
  });
});

describe('fileInputs', () => {
  it('reads files by relative path, and a deleted file still changes the hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-hash-'));
    try {
      writeFileSync(join(dir, 'a.txt'), 'one');
      writeFileSync(join(dir, 'b.txt'), 'two');
      const both = hashInputs('x', await fileInputs(dir, ['a.txt', 'b.txt']));
      writeFileSync(join(dir, 'b.txt'), 'two!');
      const edited = hashInputs('x', await fileInputs(dir, ['a.txt', 'b.txt']));
      rmSync(join(dir, 'b.txt'));
      const deleted = await fileInputs(dir, ['a.txt', 'b.txt']);
      expect(deleted.map((i) => i.name)).toEqual(['file:a.txt', 'file:b.txt']);
      expect(new Set([both, edited, hashInputs('x', deleted)]).size).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pinned versions', () => {
  it('become named inputs, and a missing one says where to pin it', () => {
    expect(versionInputs({ A: '1', B: '2' }, ['B'])).toEqual([{ name: 'version:B', value: '2' }]);
    expect(() => requireVersion({}, 'NODE_IMAGE_VERSION')).toThrow(
      /cluster\/versions.env has no NODE_IMAGE_VERSION/,
    );
  });
});
