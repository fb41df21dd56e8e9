/**
 * `make bench-server`: the serving runtime against its limit and against the naive wrapper, in one run, on the same
 * CPUs. Servers and the in-process limit run pinned to CPU 0 (taskset), the load generator (bench/server/loadgen,
 * Go) to CPU 1, onnxruntime at one intra-op thread. Models are generated here (no downloads):
 *   tabular: 30 features, dense 64 and 32, 3 classes;  matmul: four 1024x1024 MatMul layers.
 * Every request carries one row. Prints a table and writes bench/results/server-<time>.json.
 * BENCH_SECONDS (default 5) sets the measured seconds per point; BENCH_SERVER_CLI (default
 * server-image/src/cli.ts) the server to run, e.g. another version's copy for a before/after comparison;
 * BENCH_MODELS (default tabular,matmul) which models to run (the goals of models not run are left out).
 * The tabular model also runs with monitors on, each against the defaults in the same run (ratios printed and in the
 * JSON): input drift (`modelship-drift`: a baseline of its 30 features) and payload logs (`modelship-payload`: every
 * request POSTed to a local collector, collector.ts; `modelship-payload-stdout`: every request a line on stdout),
 * and with authentication on (`modelship-auth-apikey`: an API key; `modelship-auth-jwt`: a JWT from a local OIDC
 * issuer, verified once and then answered from the server's token cache). BENCH_VARIANTS (default all) runs only
 * the named variants besides `modelship` (the reference of every ratio). BENCH_ROUNDS (default 1) runs the variants
 * that many times in turn (modelship, then each variant, then again): every ratio is taken within one round and the
 * median of the rounds is reported, so a machine that slows down for a while weighs on both sides of a ratio; the
 * table shows each point's median round.
 * Besides rows per second, every server point reports the server's CPU time per request (read from /proc by the
 * load generator), and a floor stage bounds what any Node HTTP server can reach on this core: a bare node:http
 * server answering the same payloads (echo-server.ts), and the limit at batch 64 while that server is loaded.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIssuer, TEST_AUDIENCE } from '../../server-image/test/support/oidc-issuer.js';
import { writeSecret } from '../../server-image/src/testing/kubelet-secret.js';
import { benchTabularModel, matmulModel } from '../../test/fixtures/onnx/models.js';
import { buildLoadgen, onCpu, pinned, runLoadgen } from '../support/loadgen.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = [1, 8, 64];
const LIMIT_BATCHES = [1, 8, 16, 32, 64, 128, 256];
/** The server's settings for the run; everything else is the runtime's default (max queue delay 0...). */
const SERVER_ENV = { MODELSHIP_INTRA_OP_THREADS: '1', MODELSHIP_MAX_BATCH_SIZE: '64' };
const SERVER_CLI = process.env.BENCH_SERVER_CLI ?? join(ROOT, 'server-image/src/cli.ts');
const MODELS = (process.env.BENCH_MODELS ?? 'tabular,matmul').split(',');
/** Models that also run the overhead variants: monitors on (`modelship-drift`, `modelship-payload*`), auth on. */
const MONITOR_MODELS: ReadonlySet<string> = new Set(['tabular']);
/** Where collector.ts listens for the `modelship-payload` variant. */
const COLLECTOR_PORT = 18185;
/** BENCH_VARIANTS: the variants to run besides `modelship` (comma-separated server names); unset: all. */
const ONLY_VARIANTS = process.env.BENCH_VARIANTS?.split(',').map((v) => v.trim());
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20)
  throw new Error(`BENCH_ROUNDS must be an integer from 1 to 20, not ${process.env.BENCH_ROUNDS}`);

const work = mkdtempSync(join(tmpdir(), 'modelship-bench-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface ModelCase {
  name: string;
  input: string;
  features: number;
  bytes: Uint8Array;
}
/**
 * The modelship-server configurations: 'modelship' runs the defaults (max queue delay 0: a batch leaves as soon as a
 * batch slot is free); 'modelship-delay2' waits up to 2 ms for a fuller batch (the old default: what that trade
 * buys at 64 connections and costs at 1); the others are the defaults with one monitor on, see VARIANTS.
 */
type ModelshipServer =
  | 'modelship'
  | 'modelship-delay2'
  | 'modelship-drift'
  | 'modelship-payload'
  | 'modelship-payload-stdout'
  | 'modelship-auth-apikey'
  | 'modelship-auth-jwt';

interface Point {
  model: string;
  /** A modelship variant (VARIANTS), the naive baseline, or 'echo', the floor (echo-server.ts). */
  server: 'naive' | ModelshipServer | 'echo';
  body: 'json' | 'binary';
  connections: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The server process's CPU time (all threads, user + system) per answered request, in µs. */
  cpuUsPerRequest?: number;
  /** Against the best batch size of the sweep. */
  ratioToLimit?: number;
  /** Against batch 64: the largest batch 64 connections of one-row requests can form. */
  ratioToLimitAt64?: number;
  ratioToNaive?: number;
  /** The round of a modelship variant's point (BENCH_ROUNDS); left out of the medians the table shows. */
  round?: number;
}

const pointKey = (p: Point) => `${p.model}/${p.server}/${p.body}/${p.connections}`;

/** The median of the values (the lower one of the middle two for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Per model, server, body and connections, the round with the median rows per second (a real point, not a blend). */
function medianPoints(measured: Point[]): Point[] {
  const byKey = new Map<string, Point[]>();
  for (const p of measured) byKey.set(pointKey(p), [...(byKey.get(pointKey(p)) ?? []), p]);
  return [...byKey.values()].map((rounds) => {
    const mid = median(rounds.map((p) => p.rowsPerSecond));
    const { round: _round, ...point } = rounds.find((p) => p.rowsPerSecond === mid)!;
    return point;
  });
}

/** A drift baseline for the model's input: every column, edges -0.8, -0.6, ..., 0.8, uniform frequencies. */
function baselineFor(m: ModelCase): string {
  const edges = Array.from({ length: 9 }, (_, i) => Math.round((i - 4) * 0.2 * 10) / 10);
  const features = Array.from({ length: m.features }, (_, j) => ({
    input: m.input,
    column: j,
    kind: 'numeric',
    edges,
    frequencies: Array.from({ length: 10 }, () => 0.1),
  }));
  const path = join(work, `${m.name}.baseline.json`);
  writeFileSync(path, JSON.stringify({ version: 1, features }));
  return path;
}

function bodies(m: ModelCase): { json: string; binary: string; headerLength: number } {
  const row = Float32Array.from({ length: m.features }, (_, i) => Math.sin(i + 1));
  const json = join(work, `${m.name}.json`);
  writeFileSync(
    json,
    JSON.stringify({
      inputs: [{ name: m.input, shape: [1, m.features], datatype: 'FP32', data: Array.from(row) }],
    }),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: m.input,
          shape: [1, m.features],
          datatype: 'FP32',
          parameters: { binary_data_size: row.byteLength },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  const binary = join(work, `${m.name}.bin`);
  writeFileSync(binary, Buffer.concat([header, Buffer.from(row.buffer)]));
  return { json, binary, headerLength: header.byteLength };
}

interface LimitPoint {
  batch: number;
  rowsPerSecond: number;
  /** Rows per second of the limit process's CPU time: equal to rowsPerSecond on a core nothing else uses. */
  cpuRowsPerSecond: number;
}

function limit(m: ModelCase, path: string, batches = LIMIT_BATCHES): LimitPoint[] {
  const [cmd, args] = onCpu(0, process.execPath, [
    '--import',
    'tsx',
    join(HERE, 'raw-ort.ts'),
    path,
    m.input,
    String(m.features),
    batches.join(','),
    String(Math.max(1, SECONDS / 2)),
    '1',
  ]);
  return JSON.parse(execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
}

/**
 * Starts a node process on `cpu` (default 0, the server's) and waits until `readyUrl` answers. Its stdout goes to
 * /dev/null unless `stdout` is 'drain': then it is a pipe this process reads and discards, as a container runtime
 * reads a pod's log (a write to a pipe nobody reads would block the server, one to /dev/null costs nothing).
 */
async function startProcess(
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  opts: { cpu?: number; stdout?: 'ignore' | 'drain' } = {},
): Promise<ChildProcess> {
  const [cmd, full] = onCpu(opts.cpu ?? 0, process.execPath, args);
  const child = spawn(cmd, full, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', opts.stdout === 'drain' ? 'pipe' : 'ignore', 'inherit'],
  });
  child.stdout?.resume();
  children.add(child);
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(readyUrl, { method: readyUrl.endsWith('/infer') ? 'POST' : 'GET' }).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server ${args.join(' ')} never became ready`);
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  children.delete(child);
}

/** Runs the load generator against `url` (and reads the CPU time of `pid`, the server). */
async function load(
  loadgen: string,
  url: string,
  body: string,
  connections: number,
  headers: string[],
  pid: number | undefined,
  seconds = SECONDS,
) {
  const r = await runLoadgen({ loadgen, url, body, connections, seconds, pid, headers });
  const requests = r.requests;
  const cpu = r.serverCpuSeconds;
  return {
    rowsPerSecond: r.requestsPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    ...(cpu > 0 && requests > 0 ? { cpuUsPerRequest: (cpu / requests) * 1e6 } : {}),
  };
}

/** What bounds any Node HTTP server serving this model on this core (see floor() in benchModel). */
interface Floor {
  /** The bare node:http server's CPU time per request at 64 connections, in µs. */
  echoCpuUsPerRequest: number;
  /** The limit at batch 64 alone, and while the loaded echo server shares its core: CPU µs per row. */
  limitAt64CpuUsPerRow: number;
  sharedLimitAt64CpuUsPerRow: number;
  /** 1 / (echo + shared limit): rows per CPU-second that no node:http server can exceed with one-row requests. */
  boundRowsPerCpuSecond: number;
  /** The bound against the best limit, both per CPU-second. */
  boundRatioToLimit: number;
  /** modelship (binary, 64 connections) per CPU-second against the best limit per CPU-second. */
  modelshipCpuRatioToLimit?: number;
}

/** What a variant adds to the defaults for one model, and what it started for that (stopped after its points). */
interface VariantSetup {
  env: Record<string, string>;
  /** Request headers besides the body's (credentials). */
  headers?: string[];
  stdout?: 'ignore' | 'drain';
  stop?: () => Promise<void>;
}

interface Variant {
  server: ModelshipServer;
  /** An overhead variant (a monitor, authentication): run for MONITOR_MODELS only. */
  monitor: boolean;
  setup(m: ModelCase): Promise<VariantSetup>;
}

const VARIANTS: Variant[] = [
  { server: 'modelship', monitor: false, setup: async () => ({ env: {} }) },
  {
    server: 'modelship-delay2',
    monitor: false,
    setup: async () => ({ env: { MODELSHIP_MAX_QUEUE_DELAY_MS: '2' } }),
  },
  // Input drift: a baseline of every feature, so every row goes through the drift monitor.
  {
    server: 'modelship-drift',
    monitor: true,
    setup: async (m) => ({ env: { MODELSHIP_BASELINE_URI: baselineFor(m) } }),
  },
  // Payload logs, every request (sample 1, the default), to a collector that accepts and discards the batches.
  {
    server: 'modelship-payload',
    monitor: true,
    setup: async () => {
      const collector = await startProcess(
        ['--import', 'tsx', join(HERE, 'collector.ts'), String(COLLECTOR_PORT)],
        {},
        `http://127.0.0.1:${COLLECTOR_PORT}/`,
        { cpu: 1 },
      );
      return {
        env: {
          MODELSHIP_PAYLOAD_LOG: 'http',
          MODELSHIP_PAYLOAD_LOG_URL: `http://127.0.0.1:${COLLECTOR_PORT}/`,
        },
        stop: () => stop(collector),
      };
    },
  },
  // Payload logs as stdout lines, every request, the server's stdout a pipe read by this process.
  {
    server: 'modelship-payload-stdout',
    monitor: true,
    setup: async () => ({ env: { MODELSHIP_PAYLOAD_LOG: 'stdout' }, stdout: 'drain' }),
  },
  // Authentication with an API key: a Secret-like directory of one key (hashed and compared on every request).
  {
    server: 'modelship-auth-apikey',
    monitor: true,
    setup: async () => {
      const dir = join(work, 'api-keys');
      await writeSecret(dir, { bench: 'bench-api-key-0123456789abcdef' });
      return {
        env: { MODELSHIP_AUTH_API_KEYS_DIR: dir },
        headers: ['Authorization: Bearer bench-api-key-0123456789abcdef'],
      };
    },
  },
  // Authentication with a JWT (RS256) from a local issuer: verified on first sight, then from the token cache.
  {
    server: 'modelship-auth-jwt',
    monitor: true,
    setup: async () => {
      const issuer = await startIssuer();
      const token = await issuer.sign({ subject: 'bench', expiresIn: 3600 });
      return {
        env: { MODELSHIP_AUTH_OIDC_ISSUER: issuer.issuer, MODELSHIP_AUTH_OIDC_AUDIENCES: TEST_AUDIENCE },
        headers: [`Authorization: Bearer ${token}`],
        stop: () => issuer.stop(),
      };
    },
  },
];

/** What became of a payload variant's records, from the server's counters when its last point is done. */
interface PayloadDelivery {
  model: string;
  server: ModelshipServer;
  /** Requests answered, the load generator's warm-ups included: one record each. */
  answered: number;
  sent: number;
  dropped: number;
  queued: number;
}

/** The sum of the samples of `metric` (with `label` when given) in a Prometheus text exposition. */
function metricSum(text: string, metric: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === metric && (label === undefined || (m[2] ?? '').includes(label))) sum += Number(m[3]);
  }
  return sum;
}

async function payloadDelivery(): Promise<Omit<PayloadDelivery, 'model' | 'server'>> {
  const text = await (await fetch('http://127.0.0.1:18183/metrics')).text();
  return {
    answered:
      metricSum(text, 'modelship_inference_request_success_total') +
      metricSum(text, 'modelship_inference_request_failure_total'),
    sent: metricSum(text, 'modelship_payload_log_records_total', 'result="sent"'),
    dropped: metricSum(text, 'modelship_payload_log_dropped_total'),
    queued: metricSum(text, 'modelship_payload_log_queue_length'),
  };
}

async function benchModel(
  m: ModelCase,
  loadgen: string,
  points: Point[],
  roundPoints: Point[],
  limits: Record<string, Limits>,
  deliveries: PayloadDelivery[],
) {
  const path = join(work, `${m.name}.onnx`);
  writeFileSync(path, m.bytes);
  const files = bodies(m);
  const binaryHeaders = [`Inference-Header-Content-Length: ${files.headerLength}`];
  console.error(`[${m.name}] limit: raw onnxruntime-node, batch sizes ${LIMIT_BATCHES.join(', ')}`);
  const sweep = limit(m, path);
  const best = sweep.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
  const at64 = sweep.find((s) => s.batch === 64)!;

  // The floor: what node:http alone costs per request here, and what the limit becomes when HTTP work shares its
  // core (caches, context switches). No server doing both can beat 1 / (the first + the second).
  console.error(`[${m.name}] floor: bare node:http echo server, then the limit at batch 64 sharing its core`);
  const echo = await startProcess(
    ['--import', 'tsx', join(HERE, 'echo-server.ts'), '18184', m.name, String(m.features)],
    {},
    `http://127.0.0.1:18184/v2/models/${m.name}/infer`,
  );
  const echoUrl = `http://127.0.0.1:18184/v2/models/${m.name}/infer`;
  const echoPoint: Point = {
    model: m.name,
    server: 'echo',
    body: 'binary',
    connections: 64,
    ...(await load(loadgen, echoUrl, files.binary, 64, binaryHeaders, echo.pid)),
  };
  const busy = load(loadgen, echoUrl, files.binary, 64, binaryHeaders, echo.pid, SECONDS + 3);
  await new Promise((r) => setTimeout(r, 1000)); // past the load generator's warm-up
  const shared = limit(m, path, [64])[0]!;
  await busy;
  await stop(echo);
  const floor: Floor = {
    echoCpuUsPerRequest: echoPoint.cpuUsPerRequest ?? NaN,
    limitAt64CpuUsPerRow: 1e6 / at64.cpuRowsPerSecond,
    sharedLimitAt64CpuUsPerRow: 1e6 / shared.cpuRowsPerSecond,
    boundRowsPerCpuSecond: 0,
    boundRatioToLimit: 0,
  };
  const bestCpu = Math.max(...sweep.map((s) => s.cpuRowsPerSecond));
  floor.boundRowsPerCpuSecond = 1e6 / (floor.echoCpuUsPerRequest + floor.sharedLimitAt64CpuUsPerRow);
  floor.boundRatioToLimit = floor.boundRowsPerCpuSecond / bestCpu;
  limits[m.name] = { sweep, best, floor };

  console.error(`[${m.name}] naive Express baseline`);
  const naive = await startProcess(
    ['--import', 'tsx', join(HERE, 'naive-server.ts'), path, '18181', '1'],
    {},
    'http://127.0.0.1:18181/v2/models/x/infer',
  );
  const naiveByConn = new Map<number, Point>();
  for (const c of CONNECTIONS) {
    const p: Point = {
      model: m.name,
      server: 'naive',
      body: 'json',
      connections: c,
      ...(await load(
        loadgen,
        `http://127.0.0.1:18181/v2/models/${m.name}/infer`,
        files.json,
        c,
        ['Content-Type: application/json'],
        naive.pid,
      )),
    };
    naiveByConn.set(c, p);
    points.push(p);
  }
  await stop(naive);

  const selected = (v: Variant) =>
    !ONLY_VARIANTS || v.server === 'modelship' || ONLY_VARIANTS.includes(v.server);
  const variants = VARIANTS.filter((v) => (!v.monitor || MONITOR_MODELS.has(m.name)) && selected(v));
  const measured: Point[] = [];
  for (let round = 1; round <= ROUNDS; round++)
    for (const variant of variants) {
      console.error(`[${m.name}] ${variant.server}${ROUNDS > 1 ? `, round ${round} of ${ROUNDS}` : ''}`);
      await benchVariant(m, variant, round, loadgen, files, binaryHeaders, path, measured, deliveries);
    }
  roundPoints.push(...measured);
  points.push(...medianPoints(measured));
  points.push(echoPoint);
  for (const p of points.filter((q) => q.model === m.name)) {
    p.ratioToLimit = p.rowsPerSecond / best.rowsPerSecond;
    p.ratioToLimitAt64 = p.rowsPerSecond / at64.rowsPerSecond;
    p.ratioToNaive = p.rowsPerSecond / naiveByConn.get(p.connections)!.rowsPerSecond;
  }
  const ms = points.find(
    (p) => p.model === m.name && p.server === 'modelship' && p.body === 'binary' && p.connections === 64,
  );
  if (ms?.cpuUsPerRequest !== undefined) floor.modelshipCpuRatioToLimit = 1e6 / ms.cpuUsPerRequest / bestCpu;
}

/** One round of one modelship variant: its server started, every body and connection count measured, stopped. */
async function benchVariant(
  m: ModelCase,
  variant: Variant,
  round: number,
  loadgen: string,
  files: ReturnType<typeof bodies>,
  binaryHeaders: string[],
  path: string,
  measured: Point[],
  deliveries: PayloadDelivery[],
): Promise<void> {
  const setup = await variant.setup(m);
  const server = await startProcess(
    ['--import', 'tsx', SERVER_CLI, 'serve'],
    {
      ...SERVER_ENV,
      ...setup.env,
      MODELSHIP_MODEL_NAME: m.name,
      MODELSHIP_MODEL_URI: path,
      MODELSHIP_PORT: '18182',
      MODELSHIP_METRICS_PORT: '18183',
      MODELSHIP_HOST: '127.0.0.1',
    },
    'http://127.0.0.1:18182/v2/health/ready',
    { stdout: setup.stdout },
  );
  for (const body of ['json', 'binary'] as const) {
    for (const c of CONNECTIONS) {
      const r = await load(
        loadgen,
        `http://127.0.0.1:18182/v2/models/${m.name}/infer`,
        body === 'json' ? files.json : files.binary,
        c,
        [...(body === 'json' ? ['Content-Type: application/json'] : binaryHeaders), ...(setup.headers ?? [])],
        server.pid,
      );
      measured.push({ model: m.name, server: variant.server, body, connections: c, ...r, round });
    }
  }
  if (variant.server.startsWith('modelship-payload'))
    deliveries.push({ model: m.name, server: variant.server, ...(await payloadDelivery()) });
  await stop(server);
  await setup.stop?.();
}

interface Limits {
  sweep: LimitPoint[];
  best: LimitPoint;
  floor: Floor;
}

function table(points: Point[], limits: Record<string, Limits>): string {
  const rows = [
    [
      'model',
      'server',
      'body',
      'conns',
      'rows/s',
      'p50 ms',
      'p99 ms',
      'cpu us/req',
      'x limit',
      'x limit@64',
      'x naive',
      'errors',
    ],
  ];
  for (const p of points)
    rows.push([
      p.model,
      p.server,
      p.body,
      String(p.connections),
      p.rowsPerSecond.toFixed(0),
      p.p50Ms.toFixed(2),
      p.p99Ms.toFixed(2),
      p.cpuUsPerRequest === undefined ? '-' : p.cpuUsPerRequest.toFixed(1),
      (p.ratioToLimit ?? 0).toFixed(2),
      (p.ratioToLimitAt64 ?? 0).toFixed(2),
      (p.ratioToNaive ?? 0).toFixed(2),
      String(p.errors),
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  for (const [name, l] of Object.entries(limits))
    lines.push(
      `limit ${name}: ${l.sweep.map((s) => `batch ${s.batch}: ${s.rowsPerSecond.toFixed(0)}`).join(', ')} rows/s (best: batch ${l.best.batch})`,
    );
  for (const [name, { floor: f }] of Object.entries(limits))
    lines.push(
      `floor ${name}: node:http alone (echo) ${f.echoCpuUsPerRequest.toFixed(1)} us CPU/request; limit at batch 64 ` +
        `${f.limitAt64CpuUsPerRow.toFixed(1)} us CPU/row alone, ${f.sharedLimitAt64CpuUsPerRow.toFixed(1)} sharing the core ` +
        `with the loaded echo server => bound ${f.boundRowsPerCpuSecond.toFixed(0)} rows/CPU-s = ` +
        `${f.boundRatioToLimit.toFixed(2)} x limit; modelship binary 64 conns: ` +
        `${f.modelshipCpuRatioToLimit === undefined ? '-' : f.modelshipCpuRatioToLimit.toFixed(2)} x limit (per CPU-s)`,
    );
  return lines.join('\n');
}

/** The goals, each with its measured value and whether it is met (pure: what the table and the JSON report). */
function goals(points: Point[]): { goal: string; value: string; met: boolean }[] {
  const find = (model: string, server: Point['server'], body: Point['body'], connections = 64) =>
    points.find(
      (p) => p.model === model && p.server === server && p.body === body && p.connections === connections,
    );
  // A model left out by BENCH_MODELS has no points, and its goals are left out.
  const mm = find('matmul', 'modelship', 'binary');
  const tab = find('tabular', 'modelship', 'json');
  // The defaults must never lose to the naive server, whatever the concurrency: throughput and tail latency.
  const notBehindNaive = (tab ? CONNECTIONS : []).map((c) => {
    const ms = find('tabular', 'modelship', 'json', c)!;
    const naive = find('tabular', 'naive', 'json', c)!;
    return {
      goal: `tabular, JSON, ${c} conn${c === 1 ? '' : 's'}, defaults: req/s >= naive and p99 <= naive p99`,
      value:
        `${ms.rowsPerSecond.toFixed(0)} vs ${naive.rowsPerSecond.toFixed(0)} req/s, ` +
        `p99 ${ms.p99Ms.toFixed(2)} vs ${naive.p99Ms.toFixed(2)} ms`,
      met: ms.rowsPerSecond >= naive.rowsPerSecond && ms.p99Ms <= naive.p99Ms,
    };
  });
  return [
    ...(mm
      ? [
          {
            goal: 'matmul, binary, 64 conns: >= 0.60 x limit',
            value: mm.ratioToLimit!.toFixed(2),
            met: mm.ratioToLimit! >= 0.6,
          },
          {
            goal: 'matmul, binary, 64 conns: >= 5 x naive',
            value: mm.ratioToNaive!.toFixed(2),
            met: mm.ratioToNaive! >= 5,
          },
        ]
      : []),
    ...(tab
      ? [
          {
            goal: 'tabular, JSON, 64 conns: >= 1.3 x naive',
            value: tab.ratioToNaive!.toFixed(2),
            met: tab.ratioToNaive! >= 1.3,
          },
        ]
      : []),
    ...notBehindNaive,
  ];
}

/** The monitors' variants, each compared with the defaults ('modelship') point by point; `key` names it in the JSON. */
const OVERHEADS = [
  { key: 'driftOverhead', server: 'modelship-drift', title: 'drift monitoring on / off' },
  {
    key: 'payloadOverhead',
    server: 'modelship-payload',
    title: 'payload logs to a collector (http) on / off',
  },
  {
    key: 'payloadStdoutOverhead',
    server: 'modelship-payload-stdout',
    title: 'payload logs to stdout (a drained pipe) on / off',
  },
  { key: 'authApiKeyOverhead', server: 'modelship-auth-apikey', title: 'auth with an API key on / off' },
  {
    key: 'authJwtOverhead',
    server: 'modelship-auth-jwt',
    title: 'auth with a JWT (cached after its first verification) on / off',
  },
] as const satisfies readonly { key: string; server: ModelshipServer; title: string }[];

interface Overhead {
  model: string;
  body: Point['body'];
  connections: number;
  /** Medians over the rounds of the ratio within each round (BENCH_ROUNDS). */
  rowsPerSecondRatio: number;
  p99Ratio: number;
  cpuPerRequestRatio?: number;
  rounds: number;
  /** The lowest and highest rows-per-second ratio of the rounds: how much the machine moved. */
  rowsPerSecondRatioRange: [number, number];
}

/**
 * What a monitor costs: its variant's points against the defaults' of the same model, body and connections, each
 * against the defaults' point of the same round; the median of the rounds.
 */
function overhead(roundPoints: Point[], server: ModelshipServer): Overhead[] {
  const perRound = roundPoints
    .filter((p) => p.server === server)
    .map((d) => {
      const off = roundPoints.find(
        (p) =>
          p.server === 'modelship' &&
          p.model === d.model &&
          p.body === d.body &&
          p.connections === d.connections &&
          p.round === d.round,
      )!;
      return {
        d,
        rows: d.rowsPerSecond / off.rowsPerSecond,
        p99: d.p99Ms / off.p99Ms,
        cpu:
          d.cpuUsPerRequest !== undefined && off.cpuUsPerRequest !== undefined
            ? d.cpuUsPerRequest / off.cpuUsPerRequest
            : undefined,
      };
    });
  const byKey = new Map<string, typeof perRound>();
  for (const r of perRound) byKey.set(pointKey(r.d), [...(byKey.get(pointKey(r.d)) ?? []), r]);
  return [...byKey.values()].map((rounds) => {
    const { model, body, connections } = rounds[0]!.d;
    const rows = rounds.map((r) => r.rows);
    const cpu = rounds.map((r) => r.cpu).filter((c): c is number => c !== undefined);
    return {
      model,
      body,
      connections,
      rowsPerSecondRatio: median(rows),
      p99Ratio: median(rounds.map((r) => r.p99)),
      ...(cpu.length === rounds.length ? { cpuPerRequestRatio: median(cpu) } : {}),
      rounds: rounds.length,
      rowsPerSecondRatioRange: [Math.min(...rows), Math.max(...rows)],
    };
  });
}

function overheadLines(title: string, rows: Overhead[]): string[] {
  if (rows.length === 0) return [];
  return [
    `\n${title} (same model, body, connections):`,
    ...rows.map(
      (d) =>
        `  ${d.model} ${d.body.padEnd(6)} ${String(d.connections).padStart(2)} conns: rows/s x${d.rowsPerSecondRatio.toFixed(3)}, ` +
        `p99 x${d.p99Ratio.toFixed(3)}, cpu/req ${d.cpuPerRequestRatio === undefined ? '-' : `x${d.cpuPerRequestRatio.toFixed(3)}`}` +
        (d.rounds > 1
          ? ` (medians of ${d.rounds} rounds; rows/s x${d.rowsPerSecondRatioRange[0].toFixed(3)} to x${d.rowsPerSecondRatioRange[1].toFixed(3)})`
          : ''),
    ),
  ];
}

async function main(): Promise<void> {
  if (!pinned)
    console.error(
      'WARNING: taskset or a second CPU is missing: running unpinned, figures are not comparable',
    );
  const loadgen = buildLoadgen(work);
  const models: ModelCase[] = [
    { name: 'tabular', input: 'features', features: 30, bytes: benchTabularModel() },
    { name: 'matmul', input: 'x', features: 1024, bytes: matmulModel(4, 1024) },
  ].filter((m) => MODELS.includes(m.name));
  const points: Point[] = [];
  const roundPoints: Point[] = [];
  const limits: Record<string, Limits> = {};
  const deliveries: PayloadDelivery[] = [];
  for (const m of models) await benchModel(m, loadgen, points, roundPoints, limits, deliveries);
  const overheads = Object.fromEntries(OVERHEADS.map((o) => [o.key, overhead(roundPoints, o.server)]));
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, pinned },
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      rowsPerRequest: 1,
      server: SERVER_ENV,
      serverCli: SERVER_CLI,
      naive: 'express.json() + one session.run per request, 1 intra-op thread',
    },
    limits,
    points,
    ...(ROUNDS > 1 ? { roundPoints } : {}),
    goals: goals(points),
    ...overheads,
    payloadDelivery: deliveries,
  };
  console.log(table(points, limits));
  console.log('\ngoals:');
  for (const g of result.goals) console.log(`  ${g.met ? 'MET    ' : 'NOT MET'}  ${g.goal}: ${g.value}`);
  for (const o of OVERHEADS) {
    for (const line of overheadLines(o.title, overheads[o.key]!)) console.log(line);
    // Records dropped (a collector that cannot keep up) would make the ratio look better than the cost: say how many.
    for (const d of deliveries.filter((x) => x.server === o.server))
      console.log(
        `  ${d.model} records: ${d.sent} sent, ${d.dropped} dropped, ${d.queued} queued, of ${d.answered} requests answered`,
      );
  }
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `server-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
