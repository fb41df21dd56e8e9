/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * `modelship-server inspect` as the validation Job's pod runs it: a real child process (node --import tsx
 * src/cli.ts inspect, configured by MODELSHIP_* variables and flags), real model files, real onnxruntime. Each
 * case reads the one JSON line on stdout, the termination-message file and the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildModel, irisModel, variableLengthModel } from '../../test/fixtures/onnx/models.js';
import { serveModelOverHttp } from './support/model-server.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const IRIS = irisModel();
const IRIS_SHA = createHash('sha256').update(IRIS).digest('hex');

let dir: string;
let irisPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-inspect-'));
  irisPath = join(dir, 'iris.onnx');
  await writeFile(irisPath, IRIS);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  /** stdout's lines: exactly one, the result. */
  lines: string[];
  result: Record<string, unknown>;
  /** The termination-message file as written. */
  message: string;
  stderr: string;
}

let runs = 0;
/** Runs the CLI to completion; `onStderr` sees the logs as they come (to signal the process at a given moment). */
function inspect(
  args: string[],
  env: Record<string, string> = {},
  onStderr?: (text: string, proc: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  const terminationLog = join(dir, `termination-${++runs}`);
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'inspect', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      MODELSHIP_CACHE_DIR: join(dir, 'cache'),
      MODELSHIP_INTRA_OP_THREADS: '1',
      MODELSHIP_LOAD_RETRY_DELAY_MS: '10',
      MODELSHIP_TERMINATION_LOG: terminationLog,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  proc.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    onStderr?.(stderr, proc);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`inspect hung; stdout: ${stdout}; stderr: ${stderr}`));
    }, 60_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l !== '');
      void readFile(terminationLog, 'utf8')
        .catch(() => '')
        .then((message) => {
          try {
            resolve({ code, lines, result: JSON.parse(lines[0] ?? 'null'), message, stderr });
          } catch (err) {
            reject(new Error(`stdout is not one JSON line: ${stdout}; stderr: ${stderr}; ${String(err)}`));
          }
        });
    });
  });
}

/** The signature as onnxruntime itself reports it, in the protocol's terms (an independent table). */
async function ortSignature(path: string) {
  const V2: Record<string, string> = { float32: 'FP32', int64: 'INT64', float64: 'FP64', string: 'BYTES' };
  const session = await ort.InferenceSession.create(path);
  const spec = (m: ort.InferenceSession.ValueMetadata) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
    return {
      name: m.name,
      datatype: V2[m.type],
      shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)),
    };
  };
  const signature = { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
  await session.release();
  return signature;
}

async function holdoutFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('inspect a model', () => {
  it('reports the signature onnxruntime reads, the sha256 of the bytes and the timings; exit 0', async () => {
    const r = await inspect(['--model-sha256', IRIS_SHA], {
      MODELSHIP_MODEL_URI: pathToFileURL(irisPath).href,
    });
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.result).toEqual({
      ok: true,
      signature: await ortSignature(irisPath),
      sha256: IRIS_SHA,
      bytes: IRIS.byteLength,
      loadMs: expect.any(Number),
      warmupMs: expect.any(Number),
    });
    expect(r.result.signature).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    });
    // What fits is written to the termination message as it is; the logs went to stderr, and the model loaded
    // through the server's own loader (its log lines).
    expect(r.message).toBe(r.lines[0]);
    expect(r.stderr).toContain('"message":"model fetch finished"');
    expect(r.stderr).toContain('"message":"model opened"');
  }, 60_000);

  it('fails a sha256 mismatch with both digests; exit 1', async () => {
    const wrong = 'a'.repeat(64);
    const r = await inspect(['--model-uri', irisPath], { MODELSHIP_MODEL_SHA256: wrong });
    expect(r.code).toBe(1);
    expect(r.result).toEqual({
      ok: false,
      stage: 'model',
      code: 'checksum_mismatch',
      reason: expect.stringMatching(new RegExp(`^sha256 mismatch: .*expected ${wrong}, got ${IRIS_SHA}`)),
    });
    expect(JSON.parse(r.message)).toEqual(r.result);
  }, 60_000);

  it('fails a file that is not ONNX', async () => {
    const path = await holdoutFile('not-a-model.onnx', 'name,sepal_length\nsetosa,5.1\n');
    const r = await inspect(['--model-uri', path]);
    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({ ok: false, stage: 'model', code: 'invalid_model' });
    expect(r.result.reason).toMatch(
      /^model is not ONNX .*is not a valid ONNX model: .*Protobuf parsing failed/,
    );
  }, 60_000);

  it('fails a missing file at once (not retried)', async () => {
    const r = await inspect(['--model-uri', join(dir, 'missing.onnx')]);
    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({ ok: false, stage: 'model', code: 'not_found' });
    expect(r.result.reason).toMatch(/^model not found: No model file at .*missing\.onnx/);
    expect(r.stderr.match(/"message":"model load failed"/g)).toHaveLength(1);
  }, 60_000);

  it('never hangs: a download that never comes ends at the deadline, with where it was', async () => {
    const http = await serveModelOverHttp(IRIS, { hold: true });
    try {
      const r = await inspect(['--model-uri', http.url(), '--timeout-ms', '1500']);
      expect(r.code).toBe(1);
      expect(r.result).toEqual({
        ok: false,
        stage: 'model',
        code: 'deadline_exceeded',
        reason:
          'inspect did not finish within 1500 ms (--timeout-ms): it was loading the model (fetch, session, warm-up)',
      });
    } finally {
      http.release();
      await http.close();
    }
  }, 60_000);

  it('SIGTERM (a Job past its deadline) still leaves a result', async () => {
    const http = await serveModelOverHttp(IRIS, { hold: true });
    try {
      let sent = false;
      const r = await inspect(['--model-uri', http.url()], {}, (text, proc) => {
        if (!sent && text.includes('"message":"model fetch started"')) {
          sent = true;
          proc.kill('SIGTERM');
        }
      });
      expect(r.code).toBe(1);
      expect(r.result).toMatchObject({ ok: false, stage: 'model', code: 'terminated' });
      expect(r.result.reason).toMatch(/^stopped by SIGTERM while loading the model/);
      expect(JSON.parse(r.message)).toEqual(r.result);
    } finally {
      http.release();
      await http.close();
    }
  }, 60_000);

  it("cuts an over-long result to Kubernetes' 4096 bytes, still valid JSON; stdout keeps it all", async () => {
    const outputs = Array.from(
      { length: 120 },
      (_, i) => `output_${i}_${'a_rather_long_tensor_name_'.repeat(2)}`,
    );
    const model = buildModel({
      name: 'many_outputs',
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
      outputs: outputs.map((name) => ({ name, type: 'float32' as const, shape: ['batch', 2] })),
      nodes: outputs.map((name) => ({ op: 'Identity', inputs: ['x'], outputs: [name] })),
    });
    const path = join(dir, 'many-outputs.onnx');
    await writeFile(path, model);
    const r = await inspect(['--model-uri', path]);
    expect(r.code).toBe(0);
    const full = r.result as { signature: { outputs: { name: string }[] } };
    expect(full.signature.outputs.map((o) => o.name)).toEqual(outputs);
    expect(full.signature).toEqual(await ortSignature(path));
    expect(Buffer.byteLength(r.lines[0]!)).toBeGreaterThan(4096);

    expect(Buffer.byteLength(r.message)).toBeLessThanOrEqual(4096);
    const cut = JSON.parse(r.message);
    expect(cut).toMatchObject({ ok: true, truncated: true, sha256: r.result.sha256 });
    expect(cut.signature.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    expect(cut.signature).toMatchObject({ inputCount: 1, outputCount: 120 });
    expect(cut.signature.outputs.length).toBeGreaterThan(0);
    expect(cut.signature.outputs).toEqual(full.signature.outputs.slice(0, cut.signature.outputs.length));
  }, 60_000);
});

describe('inspect with a holdout set', () => {
  /** 20 iris-like rows; the expected labels are onnxruntime's own answers, with `wrong` rows made wrong. */
  async function irisHoldout(wrong: number[]) {
    const rows = 20;
    const data = Array.from(
      { length: rows * 4 },
      (_, i) => Math.round(((i * 37) % 71) / 10 + 0.5 * (i % 4)) / 1,
    );
    const session = await ort.InferenceSession.create(irisPath);
    const out = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(data), [rows, 4]),
    });
    await session.release();
    const predicted = Array.from(out.label!.data as BigInt64Array, Number);
    const labels = predicted.map((p, i) => (wrong.includes(i) ? (p + 1) % 3 : p));
    return {
      inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', data }],
      output: 'label',
      labels,
    };
  }

  it('scores accuracy against what onnxruntime answers in-process', async () => {
    const doc = await irisHoldout([1, 4, 9, 16, 19]);
    const path = await holdoutFile('iris-holdout.json', doc);
    const r = await inspect(['--model-uri', irisPath, '--holdout', pathToFileURL(path).href]);
    expect(r.code).toBe(0);
    expect(r.result).toMatchObject({
      ok: true,
      sha256: IRIS_SHA,
      holdout: { task: 'classification', output: 'label', rows: 20, accuracy: 15 / 20 },
    });
    expect(JSON.parse(r.message)).toEqual(r.result);
  }, 60_000);

  it('scores RMSE for a regression, the holdout fetched over HTTP', async () => {
    // y = 2x on [batch, len]: with len 1, one value per row.
    const model = join(dir, 'double.onnx');
    await writeFile(model, variableLengthModel());
    const x = [0.5, 1, 2, 3];
    const labels = [1, 2.5, 4, 5]; // errors 0, 0.5, 0, -1
    const http = await serveModelOverHttp(
      Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'x', shape: [4, 1], datatype: 'FP32', data: x }],
          output: 'y',
          labels,
          task: 'regression',
        }),
      ),
    );
    try {
      const r = await inspect(['--model-uri', model], { MODELSHIP_HOLDOUT_URI: http.url() });
      expect(r.code).toBe(0);
      expect(r.result.holdout).toEqual({
        task: 'regression',
        output: 'y',
        rows: 4,
        rmse: expect.any(Number),
      });
      expect((r.result.holdout as { rmse: number }).rmse).toBeCloseTo(Math.sqrt(1.25 / 4), 6);
    } finally {
      await http.close();
    }
  }, 60_000);

  const features = (rows: number) => ({
    name: 'features',
    shape: [rows, 4],
    datatype: 'FP32',
    data: Array.from({ length: rows * 4 }, () => 1),
  });

  it.each([
    ['not JSON', '{"inputs": [', /^holdout: not valid JSON: /],
    [
      'labels and inputs disagree',
      { inputs: [features(4)], output: 'label', labels: [0, 1, 2] },
      /^holdout: labels has 3 rows, inputs 4$/,
    ],
    ['no labels', { inputs: [features(4)], output: 'label' }, /^holdout: "labels" must be a non-empty array/],
    [
      'a misspelt key',
      { inputs: [features(1)], output: 'label', labels: [0], tsak: 'regression' },
      /^holdout: unknown key "tsak"/,
    ],
    [
      'an unknown output',
      { inputs: [features(1)], output: 'class', labels: [0] },
      /^holdout: "output" is 'class', which the model does not have; its outputs are 'probabilities', 'label'$/,
    ],
    [
      'an output with several values per row',
      { inputs: [features(2)], output: 'probabilities', labels: [0, 1] },
      /^holdout: output 'probabilities' has 6 values for 2 rows \(shape \[2, 3\]\)/,
    ],
    [
      'string labels for an INT64 output',
      { inputs: [features(1)], output: 'label', labels: ['setosa'] },
      /^holdout: output 'label' is INT64 but the labels are strings$/,
    ],
    [
      'an input the model does not have',
      { inputs: [{ ...features(1), name: 'x' }], output: 'label', labels: [0] },
      /^holdout: unknown input 'x'; the model's inputs are 'features'$/,
    ],
    [
      'an input of the wrong datatype',
      { inputs: [{ ...features(1), datatype: 'INT64' }], output: 'label', labels: [0] },
      /^holdout: input 'features' has datatype "INT64" but the model expects FP32$/,
    ],
    [
      'data that does not fill the shape',
      { inputs: [{ ...features(2), data: [1, 2, 3] }], output: 'label', labels: [0, 1] },
      /^holdout: input 'features' has 3 elements in "data" but shape \[2, 4\] needs 8$/,
    ],
  ])(
    'rejects a holdout with %s, with the reason; exit 1',
    async (name, doc, reason) => {
      const path = await holdoutFile(`bad-${name.replace(/\W+/g, '-')}.json`, doc);
      const r = await inspect(['--model-uri', irisPath, '--holdout', path]);
      expect(r.code).toBe(1);
      expect(r.result).toEqual({
        ok: false,
        stage: 'holdout',
        code: 'invalid_holdout',
        reason: expect.stringMatching(reason),
      });
      expect(JSON.parse(r.message)).toEqual(r.result);
    },
    60_000,
  );

  it('fails a missing holdout file, and one over --max-holdout-bytes', async () => {
    const missing = await inspect(['--model-uri', irisPath, '--holdout', join(dir, 'nowhere.json')]);
    expect(missing.code).toBe(1);
    expect(missing.result).toMatchObject({ ok: false, stage: 'holdout', code: 'not_found' });
    expect(missing.result.reason).toMatch(/^holdout: No .* file at .*nowhere\.json/);

    const path = await holdoutFile('big.json', await irisHoldout([]));
    const big = await inspect(['--model-uri', irisPath, '--holdout', path, '--max-holdout-bytes', '100']);
    expect(big.result).toMatchObject({ ok: false, stage: 'holdout', code: 'too_large' });
    expect(big.result.reason).toMatch(
      /^holdout: .*big\.json is \d+ bytes, over --max-holdout-bytes \(100\)$/,
    );
  }, 60_000);
});

describe('inspect usage', () => {
  it('--help lists its flags with their variables; a missing model URI exits 2', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', CLI, 'inspect', ...args],
          { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } },
          (err, stdout, stderr) =>
            resolve({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }),
        ),
      );
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const flag of [
      '--model-uri <uri> .*env: MODELSHIP_MODEL_URI',
      '--model-sha256 <hex> .*env: MODELSHIP_MODEL_SHA256',
      '--holdout <uri> .*env: MODELSHIP_HOLDOUT_URI',
      '--termination-log <path> .*default: "/dev/termination-log", env: MODELSHIP_TERMINATION_LOG',
      '--timeout-ms <ms> .*default: 900000, env: MODELSHIP_INSPECT_TIMEOUT_MS',
      '--fetch-timeout-ms <ms> .*env: MODELSHIP_FETCH_TIMEOUT_MS',
    ])
      expect(text).toMatch(new RegExp(flag));
    expect(text).not.toContain('--max-batch-size');
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--model-uri \(or MODELSHIP_MODEL_URI\) is required/);
  }, 60_000);
});
