/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * The example trainer (examples/retraining) against the retraining job contract, for real: train.py runs with the
 * MODELSHIP_* variables the operator sets, first on this machine in a virtualenv made from its requirements.txt,
 * then inside its image (modelship/example-trainer, built by the local image builder) as a pod would run it: as the
 * image's user, root filesystem read-only, /tmp the only other writable place. Its summary is checked with the
 * operator's own parser, its model loaded and run by the serving runtime's own loader, and its holdout scored.
 * Needs Python 3 with venv and PyPI (the virtualenv, once: about a minute, cached in
 * ~/.cache/modelship/trainer-venv/<hash of requirements.txt>), and for the image root, buildah, skopeo, umoci and
 * util-linux's unshare (the image: about a minute and a half when node-base is cached).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BuiltImage } from '../../cluster/src/images/index.js';
import { removeTree, runTool } from '../../cluster/src/images/tools.js';
import { cachedTool } from '../../cluster/src/tool-cache.js';
import { repoRoot } from '../../cluster/src/versions.js';
import { parseSummary, type TrainingSummary } from '../../operator/src/retraining/summary.js';
import { mismatches, parseBaseline } from '../../server-image/src/monitoring/drift/baseline.js';
import { InvalidModelError, OnnxModel } from '../../server-image/src/repository/model.js';
import { ensurePythonTool } from '../../server-image/test/support/python-tool.js';
import { imageEnv, unpackedImage, type ImageConfig } from '../support/unpacked-image.js';

const run = promisify(execFile);
const MINUTE = 60_000;
const TRAINER = join(repoRoot, 'examples/retraining');

/**
 * The host's Python with the trainer's packages: a virtualenv per requirements.txt content, made once. Only its
 * bin/python is used (the scripts' shebangs would name the folder it was made in, before the cache renamed it).
 */
function trainerPython(): Promise<string> {
  const requirements = join(TRAINER, 'requirements.txt');
  const hash = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 16);
  return cachedTool(
    'trainer-venv',
    hash,
    'python',
    'about a minute: numpy, scipy, scikit-learn, onnx and skl2onnx wheels from PyPI, 340 MB',
    async (dir, log) => {
      await runTool('python3', ['-m', 'venv', dir], { log }).catch((err: Error) => {
        throw new Error(
          `the example trainer's test needs Python 3 with the venv module (Debian: apt-get install python3-venv): ${err.message}`,
        );
      });
      await runTool(
        join(dir, 'bin/python'),
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--no-input',
          '--only-binary=:all:',
          '-r',
          requirements,
        ],
        { log },
      );
    },
  );
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The run's output folder on this machine. */
  dir: string;
  /** What the trainer left in the termination log. */
  message: string;
  runId: string;
}

const work = mkdtempSync(join(tmpdir(), 'ms-example-trainer-test-'));
let python: string;

/** The variables the operator sets for a run of ModelDeployment `cancer` with output pvc://models/retraining. */
function contract(runId: string, outputDir: string, terminationLog: string): Record<string, string> {
  return {
    MODELSHIP_DEPLOYMENT: 'cancer',
    MODELSHIP_MODEL_NAME: 'cancer',
    MODELSHIP_RUN_ID: runId,
    MODELSHIP_OUTPUT_URI: `pvc://models/retraining/${runId}`,
    MODELSHIP_OUTPUT_DIR: outputDir,
    MODELSHIP_TERMINATION_LOG: terminationLog,
  };
}

/** Resolves when the process exits, with what it printed. */
function collect(
  child: ReturnType<typeof spawn>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** train.py on this machine, with only the contract's variables (and `env`: knobs, or contract overrides). */
async function trainOnHost(name: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  const runId = `cancer-retrain-${name}`;
  const dir = join(work, 'host/output/retraining', runId);
  const terminationLog = join(work, 'host', `${runId}.termination-log`);
  mkdirSync(join(work, 'host'), { recursive: true });
  writeFileSync(terminationLog, ''); // the kubelet's file exists, empty, before the container starts
  const vars = Object.fromEntries(
    Object.entries({ ...contract(runId, dir, terminationLog), ...env }).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  const child = spawn(python, [join(TRAINER, 'train.py')], {
    env: { PATH: process.env.PATH, HOME: work, LANG: 'C.UTF-8', ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = await collect(child);
  return { ...result, dir, message: readFileSync(terminationLog, 'utf8'), runId };
}

function summaryOf(r: Run): TrainingSummary {
  if (r.code !== 0) throw new Error(`the trainer exited with ${r.code}:\n${r.stderr}`);
  const parsed = parseSummary(r.message);
  if (!parsed.ok) throw new Error(`the summary is refused: ${parsed.reason}\n${r.message}`);
  expect(parsed.warnings).toEqual([]);
  return parsed.summary;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Holdout {
  inputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
  output: string;
  labels: number[];
}

/**
 * Loads the model as the serving pods do (the runtime's loader, warm-up included) and scores holdout.json on it as
 * the validation job does: the fraction of rows whose `output` equals the label. Returns the model's signature too.
 */
async function serveAndScore(dir: string, summary: TrainingSummary) {
  const model = await OnnxModel.load(join(dir, summary.model), { intraOpThreads: 1, interOpThreads: 0 });
  try {
    await model.warmUp();
    const holdout = JSON.parse(readFileSync(join(dir, summary.holdout!), 'utf8')) as Holdout;
    expect(Object.keys(holdout).sort()).toEqual(['inputs', 'labels', 'output']);
    const inputs = holdout.inputs.map((t) => ({
      name: t.name,
      datatype: 'FP32' as const,
      shape: t.shape,
      data: Float32Array.from(t.data),
    }));
    const [out] = await model.run(inputs, [holdout.output]);
    const predicted = Array.from(out!.data as BigInt64Array, Number);
    const correct = predicted.filter((p, i) => p === holdout.labels[i]).length;
    return { signature: model.signature, holdout, accuracy: correct / holdout.labels.length };
  } finally {
    await model.close();
  }
}

beforeAll(async () => {
  python = await trainerPython();
}, 15 * MINUTE);

afterAll(async () => {
  await removeTree(work);
}, 5 * MINUTE);

describe('the example trainer on this machine', () => {
  let good: Run;
  let bad: Run;
  let garbage: Run;

  beforeAll(async () => {
    // One at a time: each run loads scikit-learn and scipy, a few seconds of CPU on a shared machine.
    good = await trainOnHost('good', {
      MODELSHIP_STABLE_VERSION: 'initial',
      MODELSHIP_STABLE_MODEL_URI: 'pvc://models/cancer/initial/model.onnx',
    });
    bad = await trainOnHost('bad', { TRAINER_QUALITY: 'bad' });
    garbage = await trainOnHost('garbage', { TRAINER_OUTPUT: 'garbage' });
  }, 5 * MINUTE);

  it('creates its output folder and writes model.onnx, metrics.json, holdout.json and baseline.json there', () => {
    expect(good.code).toBe(0);
    expect(readdirSync(good.dir).sort()).toEqual([
      'baseline.json',
      'holdout.json',
      'metrics.json',
      'model.onnx',
    ]);
    // The summary is also its last line on stdout (the pod's log); progress goes to stderr.
    expect(good.stdout.trim()).toBe(good.message);
    expect(good.stderr).toMatch(/422 training rows, 100 evaluation rows, 30 features, 2 classes/);
  });

  it('ends with a summary the operator accepts: relative paths, the model file’s sha256, metrics and lineage', () => {
    const summary = summaryOf(good);
    expect(Buffer.byteLength(good.message)).toBeLessThanOrEqual(4096);
    expect(summary).toMatchObject({
      model: 'model.onnx',
      metricsFile: 'metrics.json',
      holdout: 'holdout.json',
      data: { ref: 'sklearn:breast_cancer', rows: 422 },
    });
    expect(summary.sha256).toBe(sha256(join(good.dir, 'model.onnx')));
    expect(Object.keys(summary.metrics).sort()).toEqual(['accuracy', 'auc', 'f1']);
    expect(summary.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(summary.metrics.f1).toBeGreaterThanOrEqual(0.9);
    expect(summary.metrics.auc).toBeGreaterThanOrEqual(0.95);
    // metrics.json holds the same numbers, and where they came from.
    const metrics = JSON.parse(readFileSync(join(good.dir, 'metrics.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(metrics).toMatchObject({
      ...summary.metrics,
      rows: 422,
      evaluationRows: 100,
      data: summary.data,
      quality: 'good',
      runId: good.runId,
      deployment: 'cancer',
      outputUri: `pvc://models/retraining/${good.runId}`,
      stableVersion: 'initial',
      stableModelUri: 'pvc://models/cancer/initial/model.onnx',
      versions: { 'scikit-learn': '1.9.1', skl2onnx: '1.20.0' },
    });
  });

  it(
    'writes a model the serving runtime loads, with the contract’s signature, whose holdout score reproduces its accuracy',
    async () => {
      const summary = summaryOf(good);
      const { signature, holdout, accuracy } = await serveAndScore(good.dir, summary);
      expect(signature).toEqual({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 30] }],
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
        ],
      });
      expect(holdout.inputs[0]).toMatchObject({ name: 'features', shape: [100, 30], datatype: 'FP32' });
      expect(holdout.inputs[0]!.data).toHaveLength(3000);
      expect(holdout.output).toBe('label');
      expect(holdout.labels).toHaveLength(100);
      expect(new Set(holdout.labels)).toEqual(new Set([0, 1]));
      // The ONNX model, run by onnxruntime on the FP32 rows, agrees with scikit-learn's own predictions.
      expect(accuracy).toBeCloseTo(summary.metrics.accuracy!, 6);
      // The drift baseline beside it: valid for the serving runtime, one named feature per column, the labels.
      const baseline = parseBaseline(JSON.parse(readFileSync(join(good.dir, 'baseline.json'), 'utf8')));
      expect(mismatches(baseline, signature)).toEqual([]);
      expect(baseline.features).toHaveLength(30);
      expect(baseline.features[0]).toMatchObject({
        name: 'mean radius',
        tensor: 'features',
        column: 0,
        kind: 'numeric',
      });
      expect(baseline.outputs).toEqual([
        expect.objectContaining({ name: 'label', tensor: 'label', kind: 'categorical', values: ['0', '1'] }),
      ]);
    },
    MINUTE,
  );

  it(
    'is reproducible for a run id, and a new run learns from a new sample, scored on the same rows',
    async () => {
      const again = await trainOnHost('good', {});
      expect(summaryOf(again).sha256).toBe(summaryOf(good).sha256);
      const other = await trainOnHost('other');
      expect(summaryOf(other).sha256).not.toBe(summaryOf(good).sha256);
      const rows = (r: Run) => readFileSync(join(r.dir, 'holdout.json'), 'utf8');
      expect(rows(other)).toBe(rows(good));
      expect(
        Math.abs(summaryOf(other).metrics.accuracy! - summaryOf(good).metrics.accuracy!),
      ).toBeLessThanOrEqual(0.02);
    },
    2 * MINUTE,
  );

  it(
    'TRAINER_QUALITY=bad: a valid model that is far worse, by its metrics and on the holdout alike',
    async () => {
      const summary = summaryOf(bad);
      expect(summary.metrics.accuracy).toBeLessThan(0.75);
      expect(summary.metrics.auc).toBeLessThan(0.75);
      const { accuracy } = await serveAndScore(bad.dir, summary);
      expect(accuracy).toBeCloseTo(summary.metrics.accuracy!, 6);
    },
    MINUTE,
  );

  it(
    'TRAINER_OUTPUT=garbage: a summary that passes, a correct sha256, and a model.onnx onnxruntime refuses',
    async () => {
      const summary = summaryOf(garbage);
      const file = join(garbage.dir, 'model.onnx');
      expect(summary.sha256).toBe(sha256(file));
      expect(summary.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
      await expect(OnnxModel.load(file, { intraOpThreads: 1, interOpThreads: 0 })).rejects.toThrow(
        InvalidModelError,
      );
    },
    MINUTE,
  );

  it(
    'TRAINER_DATASET=iris: three classes, macro f1, no auc, probabilities of three',
    async () => {
      const iris = await trainOnHost('iris', { TRAINER_DATASET: 'iris', TRAINER_HOLDOUT_ROWS: '30' });
      const summary = summaryOf(iris);
      expect(summary.data).toEqual({ ref: 'sklearn:iris', rows: 108 });
      expect(Object.keys(summary.metrics).sort()).toEqual(['accuracy', 'f1']);
      const { signature, holdout, accuracy } = await serveAndScore(iris.dir, summary);
      expect(signature.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
      expect(signature.outputs[1]).toEqual({ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] });
      expect(holdout.labels).toHaveLength(30);
      expect(accuracy).toBeCloseTo(summary.metrics.accuracy!, 6);
    },
    2 * MINUTE,
  );

  it(
    'fails clearly, in its termination message, on what it cannot do',
    async () => {
      const s3 = await trainOnHost('s3', {
        MODELSHIP_OUTPUT_URI: 's3://models/retraining/cancer-retrain-s3',
        MODELSHIP_OUTPUT_DIR: undefined,
      });
      expect(s3.code).toBe(1);
      expect(s3.message).toBe(
        'trainer failed: MODELSHIP_OUTPUT_URI is s3://models/retraining/cancer-retrain-s3: this example writes to ' +
          'pvc:// outputs only (MODELSHIP_OUTPUT_DIR); set spec.retraining.output to pvc://<claim>/<prefix>',
      );
      // The operator refuses it as a summary, and its reason shows the trainer's.
      const parsed = parseSummary(s3.message);
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.reason).toMatch(/begins 'trainer failed: MODELSHIP_OUTPUT_URI is s3:/);

      const knob = await trainOnHost('knob', { TRAINER_QUALITY: 'great' });
      expect(knob).toMatchObject({
        code: 1,
        message: "trainer failed: TRAINER_QUALITY must be one of good, bad, got 'great'",
      });
      expect(existsSync(knob.dir)).toBe(true);
      expect(readdirSync(knob.dir)).toEqual([]);
    },
    2 * MINUTE,
  );
});

/**
 * A pod's view of the image, in new mount and PID namespaces: the unpacked root filesystem bound read-only, a fresh
 * /proc, a tmpfs /dev with the usual devices and the termination log (a host file), `tmp` as /tmp and `out` as
 * /modelship/output (the claim's mount, read-write); then unshare --root enters it as the image's user.
 * Arguments: rootfs uid gid workdir tmp out log -- command...
 */
const SANDBOX = `set -eu
r=$1 uid=$2 gid=$3 wd=$4 tmp=$5 out=$6 log=$7
shift 8
mkdir -p "$r/modelship/output"
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
mount -t tmpfs -o nosuid,mode=755 tmpfs "$r/dev"
for d in null zero full random urandom; do : >"$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
: >"$r/dev/termination-log"
mount --bind "$log" "$r/dev/termination-log"
mount --bind "$tmp" "$r/tmp"
mount --bind "$out" "$r/modelship/output"
exec unshare --root="$r" --wd="$wd" --setuid "$uid" --setgid "$gid" -- "$@"
`;

describe('the example trainer image', () => {
  const imageWork = join(work, 'image');
  const rootfs = join(imageWork, 'bundle', 'rootfs');
  let image: BuiltImage;
  let config: ImageConfig;

  beforeAll(async () => {
    mkdirSync(imageWork, { recursive: true });
    ({ image, config } = await unpackedImage('trainer', imageWork));
  }, 30 * MINUTE);

  it(
    'examples/retraining/Dockerfile passes hadolint',
    async () => {
      const hadolint = await ensurePythonTool('hadolint');
      const result = await run(hadolint, [join(TRAINER, 'Dockerfile')]).catch(
        (err: { stdout?: string }) => err,
      );
      expect('stdout' in result ? result.stdout : '').toBe('');
    },
    5 * MINUTE,
  );

  it('is recorded under the name the example uses, with a numeric non-root user and train.py as entrypoint', () => {
    expect(image.ref).toBe('modelship/example-trainer:0.1.0');
    expect(readFileSync(join(TRAINER, 'modeldeployment.yaml'), 'utf8')).toContain(`image: ${image.ref}\n`);
    expect(config.repoTags).toEqual(['docker.io/modelship/example-trainer:0.1.0']);
    expect(config.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(config.entrypoint).toEqual(['/opt/trainer/venv/bin/python3', '/opt/trainer/train.py']);
    expect(config.cmd).toEqual([]);
  });

  it('holds the pinned packages without their test suites, pip or a pip cache', () => {
    const site = join(rootfs, 'opt/trainer/venv/lib/python3.11/site-packages');
    const installed = readdirSync(site)
      .filter((n) => n.endsWith('.dist-info'))
      .map((n) =>
        n
          .replace(/\.dist-info$/, '')
          .toLowerCase()
          .replace(/_/g, '-'),
      )
      .sort();
    const pinned = readFileSync(join(TRAINER, 'requirements.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.toLowerCase().replace(/_/g, '-').replace('==', '-'))
      .sort();
    expect(installed).toEqual(pinned);
    expect(existsSync(join(site, 'scipy/linalg/tests'))).toBe(false);
    expect(existsSync(join(site, 'sklearn/tests'))).toBe(false);
    expect(existsSync(join(rootfs, 'root/.cache/pip'))).toBe(false);
    expect(existsSync(join(rootfs, 'var/lib/apt/lists/lock'))).toBe(false);
    // Byte code is in the image: the read-only root filesystem would not let Python write it at each start.
    expect(readdirSync(join(site, 'sklearn/__pycache__')).length).toBeGreaterThan(0);
  });

  it(
    'runs as a pod would (its user, read-only root, writable /tmp) and writes a valid run into the claim',
    async () => {
      const [uid, gid] = config.user.split(':');
      const tmp = join(imageWork, 'tmp');
      const out = join(imageWork, 'claim');
      const log = join(imageWork, 'termination-log');
      mkdirSync(tmp, { recursive: true });
      mkdirSync(out, { recursive: true });
      chmodSync(tmp, 0o1777);
      chmodSync(out, 0o1777); // as the local model store's retraining folder
      writeFileSync(log, '');
      chmodSync(log, 0o666);
      const runId = 'cancer-retrain-29392011';
      const vars = contract(runId, `/modelship/output/retraining/${runId}`, '/dev/termination-log');
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--pid',
          '--fork',
          '--kill-child',
          '--',
          'sh',
          '-c',
          SANDBOX,
          'sandbox',
          rootfs,
          uid!,
          gid!,
          config.workingDir,
          tmp,
          out,
          log,
          '--',
          ...config.entrypoint,
          ...config.cmd,
        ],
        {
          env: {
            ...imageEnv(config),
            ...vars,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const result = await collect(child);
      const dir = join(out, 'retraining', runId);
      const r: Run = { ...result, dir, message: readFileSync(log, 'utf8'), runId };
      const summary = summaryOf(r);
      expect(readdirSync(dir).sort()).toEqual([
        'baseline.json',
        'holdout.json',
        'metrics.json',
        'model.onnx',
      ]);
      expect(summary.sha256).toBe(sha256(join(dir, 'model.onnx')));
      // Nothing but the run's folder: no byte code, no caches, nothing in /tmp either.
      expect(readdirSync(out)).toEqual(['retraining']);
      expect(readdirSync(tmp)).toEqual([]);
      // The image and the host virtualenv install the same packages: the same run id gives the same model.
      const host = await trainOnHost('29392011');
      expect(summaryOf(host)).toEqual(summary);
      const { accuracy } = await serveAndScore(dir, summary);
      expect(accuracy).toBeCloseTo(summary.metrics.accuracy!, 6);
    },
    3 * MINUTE,
  );
});
