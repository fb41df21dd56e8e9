/**
 * The local container images (cluster/src/images), built for real from a clean cache and run for real in a private
 * containerd: no registry, no Docker engine, and nothing of the machine's own /run/containerd or /var/lib/containerd.
 * Needs root, buildah, umoci, skopeo, debootstrap, busybox-static, containerd, runc, gcc and Go; the builds reach
 * the Debian archive, the npm registry and the Go module proxy (the images are made of what they serve). The cluster
 * itself is not used. Slow: about 5 minutes from a clean cache on 2 cores, build times are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addSubModel } from '../fixtures/onnx/models.js';
import { freePort } from '../../cluster/src/process.js';
import { repoRoot } from '../../cluster/src/versions.js';
import {
  ensureImages,
  IMAGE_IDS,
  storagePaths,
  type BuiltImage,
  type ImageId,
} from '../../cluster/src/images/index.js';
import { PrivateContainerd } from '../../cluster/src/images/private-containerd.js';
import { removeTree } from '../../cluster/src/images/tools.js';

const run = promisify(execFile);
const MINUTE = 60_000;

/**
 * The images built and run here: those a node imports, and node-base. The operator image and the example trainer,
 * which no node imports by default, are built and run by operator-image.test.ts and example-trainer.test.ts,
 * without a container runtime; here they would only add builds.
 */
type Id = Exclude<ImageId, 'operator' | 'trainer'>;
const IDS = IMAGE_IDS.filter((id): id is Id => id !== 'operator' && id !== 'trainer');

/** The names containerd gives the refs (ctr normalises short names to docker.io). */
const STORED_NAMES: Record<Id, string> = {
  pause: 'registry.k8s.io/pause:3.10',
  'node-base': 'docker.io/library/node:26-bookworm-slim',
  server: 'docker.io/modelship/server:0.1.0',
  coredns: 'modelship.local/coredns:1.14.7',
  fileserver: 'modelship.local/fileserver:1',
  s3: 'modelship.local/s3:1',
};

interface ArchiveConfig {
  repoTags: string[];
  user: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
}

/** The tags and runtime config recorded in a docker-archive. */
async function archiveConfig(archive: string): Promise<ArchiveConfig> {
  const tarFile = async (name: string) =>
    (await run('tar', ['-xOf', archive, name], { maxBuffer: 1 << 26 })).stdout;
  const [manifest] = JSON.parse(await tarFile('manifest.json')) as { Config: string; RepoTags: string[] }[];
  const config = JSON.parse(await tarFile(manifest!.Config)) as {
    config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[] };
  };
  return {
    repoTags: manifest!.RepoTags,
    user: config.config.User ?? '',
    entrypoint: config.config.Entrypoint ?? [],
    cmd: config.config.Cmd ?? [],
    env: config.config.Env ?? [],
  };
}

/** Polls `probe` until it resolves truthy (or throws the last error after `timeoutMs`). */
async function eventually<T>(probe: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen within ${timeoutMs} ms: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves with the exit result, or rejects if the container has not exited within `ms`. */
function exitWithin<T>(done: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not exit within ${ms} ms`)), ms);
  });
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}

/** Processes whose command line, working folder or root lies under `dir` (a chrooted npm inside buildah, say). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const places = [cmdline, readlinkSync(`/proc/${pid}/cwd`), readlinkSync(`/proc/${pid}/root`)];
      if (places.some((p) => p.includes(dir))) found.push(`${pid}: ${cmdline.trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function completedBuilds(cache: string, id: ImageId): string[] {
  const dir = join(cache, 'images', id);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => /^[0-9a-f]{16}$/.test(n))
        .sort()
    : [];
}

const work = mkdtempSync(join(tmpdir(), 'ms-images-test-'));
const cache = join(work, 'cache');
const buildLog: string[] = [];
const log = (line: string) => buildLog.push(line);
let images: Record<Id, BuiltImage>;

/** A snapshot of the repository: other people edit the checkout meanwhile, which would change the server's inputs. */
const snapshot = join(work, 'repo');
function copyRepository(from: string, to: string): void {
  const skip = new Set(['node_modules', '.git', 'dist', '.cluster', 'coverage']);
  cpSync(from, to, {
    recursive: true,
    filter: (src) => !skip.has(src.slice(from.length + 1).split('/')[0]!),
  });
}

beforeAll(() => copyRepository(repoRoot, snapshot));

afterAll(async () => {
  await removeTree(work);
}, 5 * MINUTE);

describe('building the images', () => {
  it(
    'builds every image from a clean cache',
    async () => {
      const started = Date.now();
      const built = await ensureImages([...IDS], { cacheDir: cache, repoRoot: snapshot, log }).catch(
        (err: Error) => {
          throw new Error(`${err.message}\n--- last build output ---\n${buildLog.slice(-40).join('\n')}`);
        },
      );
      const totalMs = Date.now() - started;
      images = Object.fromEntries(built.map((b) => [b.id, b])) as Record<Id, BuiltImage>;
      process.stderr.write(
        `\nimages, cold (clean cache), ${(totalMs / 1000).toFixed(1)} s in all:\n` +
          built
            .map(
              (b) =>
                `  ${b.id.padEnd(11)} ${(b.buildMs / 1000).toFixed(1).padStart(6)} s  ${(b.sizeBytes / 2 ** 20).toFixed(1).padStart(6)} MiB  ${b.ref}`,
            )
            .join('\n') +
          '\n',
      );
      for (const b of built) {
        expect(b.cached).toBe(false);
        expect(b.inputHash).toMatch(/^[0-9a-f]{16}$/);
        expect(b.archive).toBe(join(cache, 'images', b.id, b.inputHash, 'image.tar'));
        expect(statSync(b.archive).size).toBe(b.sizeBytes);
        expect(completedBuilds(cache, b.id)).toEqual([b.inputHash]);
        // No unfinished build folders left next to it.
        expect(readdirSync(join(cache, 'images', b.id)).filter((n) => n.startsWith('.build-'))).toEqual([]);
      }
    },
    40 * MINUTE,
  );

  it('records the names pods use and a non-root user in every image that serves', async () => {
    const configs = Object.fromEntries(
      await Promise.all(IDS.map(async (id) => [id, await archiveConfig(images[id].archive)] as const)),
    ) as Record<Id, ArchiveConfig>;
    for (const id of IDS) expect(configs[id].repoTags).toEqual([STORED_NAMES[id]]);
    expect(configs.pause).toMatchObject({ user: '65535:65535', entrypoint: ['/pause'] });
    expect(configs['node-base']).toMatchObject({ user: '', cmd: ['node'] });
    expect(configs['node-base'].env).toContain('NODE_VERSION=26.12.1');
    expect(configs.server).toMatchObject({
      user: '65532:65532',
      entrypoint: ['node', '/app/dist/server-image/src/cli.js'],
      cmd: ['serve'],
    });
    expect(configs.coredns).toMatchObject({ user: '65532:65532', entrypoint: ['/coredns'] });
    expect(configs.fileserver).toMatchObject({ user: '65534:65534', entrypoint: ['/bin/start'] });
    expect(configs.s3).toMatchObject({
      user: '65532:65532',
      entrypoint: ['/gofakes3', '-backend', 'memory', '-host', ':9000'],
      cmd: ['-initialbucket', 'models'],
    });
  });

  it('returns every image from the cache the second time, building nothing', async () => {
    const mtimes = IDS.map((id) => statSync(images[id].archive).mtimeMs);
    const linesBefore = buildLog.length;
    const started = Date.now();
    const again = await ensureImages([...IDS], { cacheDir: cache, repoRoot: snapshot, log });
    process.stderr.write(`images, cached: all six in ${Date.now() - started} ms\n`);
    expect(again.map((b) => b.cached)).toEqual(IDS.map(() => true));
    expect(again.map((b) => [b.inputHash, b.archive])).toEqual(
      IDS.map((id) => [images[id].inputHash, images[id].archive]),
    );
    expect(again.map((b) => statSync(b.archive).mtimeMs)).toEqual(mtimes);
    expect(buildLog.slice(linesBefore)).toEqual([]);
  });

  it(
    'never builds one image twice at once: a concurrent caller waits for the build and takes it from the cache',
    async () => {
      const other = join(work, 'cache-concurrent');
      const lines: string[][] = [[], []];
      const [a, b] = await Promise.all(
        [0, 1].map((i) => ensureImages(['coredns'], { cacheDir: other, log: (l) => lines[i]!.push(l) })),
      );
      expect([a![0]!.cached, b![0]!.cached].sort()).toEqual([false, true]);
      expect(a![0]!.inputHash).toBe(b![0]!.inputHash);
      expect(a![0]!.archive).toBe(b![0]!.archive);
      const waited = lines.find((l) => l.some((line) => line.includes('waiting for another process')));
      expect(waited).toBeDefined();
      expect(waited!.some((line) => /^\[image coredns\] building /.test(line))).toBe(false);
      const builder = lines.find((l) => l !== waited)!;
      expect(builder.some((line) => /^\[image coredns\] building /.test(line))).toBe(true);
      expect(completedBuilds(other, 'coredns')).toEqual([a![0]!.inputHash]);
    },
    10 * MINUTE,
  );
});

describe('running the images in a private containerd', () => {
  let ctd: PrivateContainerd;
  const data = join(work, 'data');

  beforeAll(async () => {
    expect(images).toBeDefined(); // the build above must have succeeded
    ctd = await PrivateContainerd.start(join(work, 'containerd'));
    for (const id of IDS) await ctd.importImage(images[id].archive);
    mkdirSync(data, { recursive: true, mode: 0o755 });
    chmodSync(work, 0o755); // the images' non-root users must reach the bind-mounted files
  }, 5 * MINUTE);

  afterAll(async () => {
    await ctd?.stop();
  }, MINUTE);

  it('imports every archive under the name pods use', async () => {
    const names = (await ctd.ctr(['images', 'ls', '-q']))
      .split('\n')
      .filter((n) => n && !n.startsWith('sha256:'));
    expect(names.sort()).toEqual(Object.values(STORED_NAMES).sort());
  });

  it('pause: prints its version, and its entrypoint stops on SIGTERM', async () => {
    const version = await ctd.runToEnd({ image: STORED_NAMES.pause, id: 'pause-v', args: ['/pause', '-v'] });
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout).toContain('pause.c v3.10-modelship');
    const pause = ctd.run({ image: STORED_NAMES.pause, id: 'pause' });
    await eventually(
      async () => (await ctd.ctr(['tasks', 'ls'])).includes('RUNNING'),
      30_000,
      'pause running',
    );
    await ctd.signal('pause', 'SIGTERM');
    const result = await exitWithin(pause.done, 30_000, 'pause');
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).toContain('Shutting down, got signal');
  });

  it('node-base: Node, npm and npx as pinned, the node user, the CA bundle', async () => {
    const result = await ctd.runToEnd({
      image: STORED_NAMES['node-base'],
      id: 'node-base',
      args: [
        'sh',
        '-c',
        'node --version; npm --version; npx --version; id node; test -s /etc/ssl/certs/ca-certificates.crt && echo ca-ok',
      ],
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'v26.12.1',
      '11.21.2',
      '11.21.2',
      'uid=1000(node) gid=1000(node) groups=1000(node)',
      'ca-ok',
    ]);
  });

  it('server: --help lists the serve flags', async () => {
    const result = await ctd.runToEnd({
      image: STORED_NAMES.server,
      id: 'server-help',
      args: ['node', '/app/dist/server-image/src/cli.js', 'serve', '--help'],
    });
    expect(result.code).toBe(0);
    for (const flag of ['--model-uri', '--port', '--metrics-port', '--max-batch-size', '--cache-dir']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it(
    'server: its own entrypoint serves a real model from a read-only root filesystem, then stops on SIGTERM',
    async () => {
      const models = join(data, 'models');
      mkdirSync(models, { mode: 0o755 });
      writeFileSync(join(models, 'add_sub.onnx'), addSubModel(), { mode: 0o644 });
      const [port, metricsPort] = [await freePort(), await freePort()];
      const server = ctd.run({
        image: STORED_NAMES.server,
        id: 'server',
        netHost: true,
        readOnly: true,
        binds: [{ src: models, dst: '/models' }],
        tmpfs: ['/tmp', '/var/cache/modelship'],
        env: {
          MODELSHIP_MODEL_URI: '/models/add_sub.onnx',
          MODELSHIP_HOST: '127.0.0.1',
          MODELSHIP_PORT: String(port),
          MODELSHIP_METRICS_PORT: String(metricsPort),
        },
      });
      const base = `http://127.0.0.1:${port}`;
      try {
        await eventually(
          async () => (await fetch(`${base}/v2/health/ready`)).status === 200,
          60_000,
          'server ready',
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${server.output().slice(-3000)}`);
        });
        const res = await fetch(`${base}/v2/models/model/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [
              { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
              { name: 'b', shape: [1, 4], datatype: 'FP32', data: [0.5, 0.5, 0.5, 0.5] },
            ],
          }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
        const byName = Object.fromEntries(body.outputs.map((o) => [o.name, o.data]));
        expect(byName).toEqual({ sum: [1.5, 2.5, 3.5, 4.5], diff: [0.5, 1.5, 2.5, 3.5] });
        const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(metrics.status).toBe(200);
      } finally {
        await ctd.signal('server', 'SIGTERM').catch(() => {});
      }
      const result = await exitWithin(server.done, 60_000, 'server');
      expect(result.code).toBe(0);
    },
    3 * MINUTE,
  );

  it(
    'coredns: prints its version and answers a DNS query',
    async () => {
      const version = await ctd.runToEnd({
        image: STORED_NAMES.coredns,
        id: 'coredns-version',
        args: ['/coredns', '-version'],
      });
      expect(version.code).toBe(0);
      expect(version.stdout).toContain('CoreDNS-1.14.7');

      const port = await freePort();
      const conf = join(data, 'coredns');
      mkdirSync(conf, { mode: 0o755 });
      writeFileSync(
        join(conf, 'Corefile'),
        `.:${port} {\n  bind 127.0.0.1\n  hosts {\n    10.1.2.3 model.modelship.test\n  }\n}\n`,
        { mode: 0o644 },
      );
      const dns = ctd.run({
        image: STORED_NAMES.coredns,
        id: 'coredns',
        netHost: true,
        readOnly: true,
        binds: [{ src: conf, dst: '/etc/coredns' }],
        args: ['/coredns', '-conf', '/etc/coredns/Corefile'],
      });
      try {
        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([`127.0.0.1:${port}`]);
        const answer = await eventually(
          () => resolver.resolve4('model.modelship.test'),
          30_000,
          'a DNS answer',
        );
        expect(answer).toEqual(['10.1.2.3']);
      } finally {
        await ctd.signal('coredns', 'SIGTERM').catch(() => {});
      }
      expect((await exitWithin(dns.done, 30_000, 'coredns')).code).toBe(0);
    },
    2 * MINUTE,
  );

  it(
    'fileserver: serves a file over HTTP and exits on SIGTERM (not ignored as PID 1)',
    async () => {
      const srv = join(data, 'srv');
      mkdirSync(srv, { mode: 0o755 });
      const model = addSubModel();
      writeFileSync(join(srv, 'model.onnx'), model, { mode: 0o644 });
      const port = await freePort();
      const files = ctd.run({
        image: STORED_NAMES.fileserver,
        id: 'fileserver',
        netHost: true,
        readOnly: true,
        binds: [{ src: srv, dst: '/srv' }],
        env: { PORT: String(port) },
      });
      try {
        const res = await eventually(
          () => fetch(`http://127.0.0.1:${port}/model.onnx`),
          30_000,
          'fileserver answering',
        );
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(model))).toBe(true);
        expect((await fetch(`http://127.0.0.1:${port}/missing.onnx`)).status).toBe(404);
      } finally {
        await ctd.signal('fileserver', 'SIGTERM').catch(() => {});
      }
      expect((await exitWithin(files.done, 30_000, 'fileserver after SIGTERM')).code).toBe(0);
    },
    2 * MINUTE,
  );

  it(
    's3: a PUT then a GET with the AWS SDK, path-style, any credentials',
    async () => {
      const port = await freePort();
      const store = ctd.run({
        image: STORED_NAMES.s3,
        id: 's3',
        netHost: true,
        readOnly: true,
        args: ['/gofakes3', '-backend', 'memory', '-host', `127.0.0.1:${port}`, '-initialbucket', 'models'],
      });
      const client = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'anything', secretAccessKey: 'anything' },
      });
      try {
        const body = Buffer.from(addSubModel());
        await eventually(
          () =>
            client.send(new PutObjectCommand({ Bucket: 'models', Key: 'add-sub/1/model.onnx', Body: body })),
          30_000,
          'a PUT accepted',
        );
        const got = await client.send(
          new GetObjectCommand({ Bucket: 'models', Key: 'add-sub/1/model.onnx' }),
        );
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
      } finally {
        client.destroy();
        await ctd.signal('s3', 'SIGTERM').catch(() => {});
      }
      await exitWithin(store.done, 30_000, 's3');
    },
    2 * MINUTE,
  );

  it('stops without leaving processes, mounts or cgroups behind', async () => {
    const report = await ctd.stop();
    expect(report).toEqual({ leftoverPids: [], leftoverMounts: [], leftoverCgroups: [] });
    expect(processesUnder(join(work, 'containerd'))).toEqual([]);
  });
});

describe('a killed build', () => {
  it(
    'leaves no partial image, process or mount behind; the next build completes, under a new hash for the changed input',
    async () => {
      // A copy of the repository with one server source changed, so the server image must be rebuilt.
      const copy = join(work, 'repo-changed');
      copyRepository(snapshot, copy);
      writeFileSync(
        join(copy, 'server-image/src/cli.ts'),
        `${readFileSync(join(copy, 'server-image/src/cli.ts'), 'utf8')}// changed\n`,
      );

      const before = completedBuilds(cache, 'server');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'cluster/src/images/cli.ts', '--cache-dir', cache, '--repo-root', copy, 'server'],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      // Kill it in the middle of the Dockerfile's first RUN step (npm ci), with buildah, its chroot and npm running.
      await eventually(
        async () => /STEP \d+\/\d+: RUN /.test(output),
        5 * MINUTE,
        'the build reaching its first RUN step',
      ).catch((err: Error) => {
        child.kill('SIGKILL');
        throw new Error(`${err.message}\n${output.slice(-3000)}`);
      });
      await new Promise((r) => setTimeout(r, 3000));
      expect(child.exitCode).toBeNull();
      // The lock holder, buildah and the chrooted RUN step (its root lies in the store under the cache) are alive.
      expect(processesUnder(work).length).toBeGreaterThan(2);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      await eventually(
        async () => processesUnder(work).length === 0,
        15_000,
        'the build processes dying',
      ).catch(() => {
        throw new Error(`left running: ${processesUnder(work).join('\n')}`);
      });
      const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
      expect(mountinfo.includes(work)).toBe(false);
      expect(completedBuilds(cache, 'server')).toEqual(before);
      const unfinished = readdirSync(join(cache, 'images', 'server')).filter((n) => n.startsWith('.build-'));
      expect(unfinished).toHaveLength(1); // the killed one: never under a hash name

      const lines: string[] = [];
      const [rebuilt] = await ensureImages(['server'], {
        cacheDir: cache,
        repoRoot: copy,
        log: (l) => lines.push(l),
      });
      expect(rebuilt!.cached).toBe(false);
      expect(rebuilt!.inputHash).not.toBe(images.server.inputHash);
      expect(lines.some((l) => l.includes('removed an unfinished build'))).toBe(true);
      expect(completedBuilds(cache, 'server')).toEqual([...before, rebuilt!.inputHash].sort());
      expect(readdirSync(join(cache, 'images', 'server')).filter((n) => n.startsWith('.build-'))).toEqual([]);
      expect((await archiveConfig(rebuilt!.archive)).repoTags).toEqual([STORED_NAMES.server]);
      // The killed buildah left no working container in the store; only node-base stays there.
      const env = { ...process.env, CONTAINERS_STORAGE_CONF: storagePaths(cache).conf };
      expect((await run('buildah', ['containers', '--quiet'], { env })).stdout.trim()).toBe('');
      expect(
        (await run('buildah', ['images', '--format', '{{.Name}}:{{.Tag}}'], { env })).stdout.trim(),
      ).toBe('docker.io/library/node:26-bookworm-slim');
    },
    15 * MINUTE,
  );
});
