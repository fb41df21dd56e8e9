/** `modelship-server baseline` as a real child process: a sample file in, a baseline.json the server accepts out. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBaseline } from '../src/monitoring/drift/baseline.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, 'baseline', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      timeout: 30_000,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-baseline-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('modelship-server baseline', () => {
  it('computes quantile bins and category frequencies from a CSV with a header', async () => {
    const sample = join(dir, 'sample.csv');
    const rows = Array.from({ length: 8 }, (_, i) => `${i + 1},${i % 4 === 0 ? 'red' : 'blue'}`);
    await writeFile(sample, `size,color\n${rows.join('\n')}\n`);
    const out = join(dir, 'baseline.json');
    const r = await cli([
      '--sample',
      sample,
      '--input',
      'features',
      '--bins',
      '4',
      '--categorical',
      'color',
      '--out',
      out,
    ]);
    expect(r.stderr).toContain('baseline: 2 feature(s) of input "features" from 8 row(s)');
    expect(r.code).toBe(0);
    const doc: unknown = JSON.parse(await readFile(out, 'utf8'));
    const b = parseBaseline(doc);
    expect(b.features).toEqual([
      // 1..8 in 4 bins: the lower quartiles 2, 4, 6.
      {
        name: 'size',
        tensor: 'features',
        column: 0,
        kind: 'numeric',
        edges: [2, 4, 6],
        frequencies: [0.25, 0.25, 0.25, 0.25],
      },
      {
        name: 'color',
        tensor: 'features',
        column: 1,
        kind: 'categorical',
        values: ['blue', 'red'],
        frequencies: [0.75, 0.25, 0],
      },
    ]);
  }, 60_000);

  it('reads a V2 request and writes to stdout with --out -, names from --feature-names', async () => {
    const sample = join(dir, 'request.json');
    await writeFile(
      sample,
      JSON.stringify({
        inputs: [{ name: 'x', shape: [4, 2], datatype: 'FP32', data: [1, 10, 2, 20, 3, 30, 4, 40] }],
      }),
    );
    const r = await cli([
      '--sample',
      sample,
      '--input',
      'x',
      '--bins',
      '2',
      '--feature-names',
      'a,b',
      '--out',
      '-',
    ]);
    expect(r.code).toBe(0);
    const b = parseBaseline(JSON.parse(r.stdout));
    expect(b.features.map((f) => [f.name, f.kind === 'numeric' ? f.edges : []])).toEqual([
      ['a', [2]],
      ['b', [20]],
    ]);
  }, 60_000);

  it('fails with status 1 and the reason for a sample it cannot use, 2 for missing flags', async () => {
    const sample = join(dir, 'bad.csv');
    await writeFile(sample, '1,x\n2,y\n');
    const bad = await cli(['--sample', sample, '--input', 'x', '--out', join(dir, 'never.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /feature "x\[1\]", row 1: "x" is not a number \(list the feature in --categorical/,
    );
    const missing = await cli(['--sample', join(dir, 'nope.csv'), '--input', 'x', '--out', '-']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT/);
    const usage = await cli(['--sample', sample, '--input', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--out <file>/);
  }, 60_000);
});
