/**
 * The operator image (operator/Dockerfile), built by the local image builder (cached by the hash of its inputs under
 * ~/.cache/modelship, like every image) and run for real without a container runtime: its layers are unpacked with
 * umoci, and its ENTRYPOINT runs in that root filesystem, mounted read-only, as the image's USER, with the image's
 * environment and working folder, a private /tmp and host networking, as a pod with readOnlyRootFilesystem would.
 * Needs root, buildah, skopeo, umoci and util-linux's unshare. The first build takes a few minutes (npm ci, tsc).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { removeTree } from '../../cluster/src/images/tools.js';
import { freePort, httpGet } from '../../cluster/src/process.js';
import {
  createNamespace,
  eventually,
  installCrds,
  kubeConfig,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import { installRbac, operatorKubeconfig } from '../support/operator.js';
import { imageEnv, unpackedImage, type ImageConfig } from '../support/unpacked-image.js';
import { ensurePythonTool } from '../../server-image/test/support/python-tool.js';

const run = promisify(execFile);
const MINUTE = 60_000;

/**
 * Runs in a new mount and PID namespace: the root filesystem bound onto itself read-only, a fresh /proc, the host's
 * /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom on a tmpfs /dev, and `tmp` (a host folder, the
 * emptyDir) as the only writable place; then unshare --root enters it with the image's working folder and user.
 * Arguments: rootfs uid gid workdir tmp -- command...
 */
const SANDBOX = `set -eu
r=$1 uid=$2 gid=$3 wd=$4 tmp=$5
shift 6
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
mount -t tmpfs -o nosuid,mode=755 tmpfs "$r/dev"
for d in null zero full random urandom; do : >"$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mount --bind "$tmp" "$r/tmp"
exec unshare --root="$r" --wd="$wd" --setuid "$uid" --setgid "$gid" -- "$@"
`;

interface Sandboxed {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  output: () => string;
  signal: (sig: NodeJS.Signals) => void;
}

const work = mkdtempSync(join(tmpdir(), 'ms-operator-image-test-'));
const rootfs = join(work, 'bundle', 'rootfs');
let config: ImageConfig;
let sandboxes = 0;

/** Runs `command` (default: the image's ENTRYPOINT + CMD) in the unpacked image as its USER, as described above. */
function runInImage(args: string[], o: { command?: string[]; tmp?: string } = {}): Sandboxed {
  const [uid, gid] = config.user.split(':');
  const tmp = o.tmp ?? join(work, `tmp-${++sandboxes}`);
  mkdirSync(tmp, { recursive: true });
  chmodSync(tmp, 0o1777);
  const command = [...(o.command ?? [...config.entrypoint, ...config.cmd]), ...args];
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
      gid ?? uid!,
      config.workingDir,
      tmp,
      '--',
      ...command,
    ],
    // Exactly the image's environment, as a container runtime would give it (PATH there also finds mount, unshare).
    { env: imageEnv(config) },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  // The outer unshare passes no signal on: signal its child (the sh that became the operator through exec), PID 1 of
  // the new PID namespace, as a container runtime signals a container's first process.
  const signal = (sig: NodeJS.Signals) => {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    for (const pid of children.filter(Boolean)) process.kill(Number(pid), sig);
  };
  return { done, output: () => stdout + stderr, signal };
}

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  ({ config } = await unpackedImage('operator', work));
}, 30 * MINUTE);

afterAll(async () => {
  await removeTree(work);
}, 5 * MINUTE);

describe('the operator image', () => {
  it(
    'operator/Dockerfile passes hadolint, as server-image/Dockerfile does',
    async () => {
      const hadolint = await ensurePythonTool('hadolint');
      const result = await run(hadolint, [join(repoRoot, 'operator/Dockerfile')]).catch(
        (err: { stdout?: string }) => err,
      );
      expect('stdout' in result ? result.stdout : '').toBe('');
    },
    5 * MINUTE,
  );

  it('is recorded under the name pods use, as a non-root user, without HEALTHCHECK, with the V8 flag', () => {
    // skopeo writes the short name normalised, as containerd would store it.
    expect(config.repoTags).toEqual(['docker.io/modelship/operator:0.1.0']);
    expect(config.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    // Kubernetes ignores HEALTHCHECK; the probes are /healthz and /readyz.
    expect(config.healthcheck).toBeUndefined();
    expect(config.entrypoint).toEqual(['node', '--max-semi-space-size=2', '/app/dist/operator/src/main.js']);
    expect(config.cmd).toEqual([]);
    expect(config.exposedPorts).toEqual(['8080/tcp', '8081/tcp']);
    expect(config.env).toContain('NODE_ENV=production');
  });

  it("holds the compiled operator and the operator's production dependencies only", () => {
    const app = join(rootfs, 'app');
    expect(existsSync(join(app, 'dist/operator/src/main.js'))).toBe(true);
    // No TypeScript sources, no source maps, not the kubectl plugin, not the server beyond what the operator imports.
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name).slice(app.length + 1)],
      );
    const dist = files(join(app, 'dist'));
    expect(dist.filter((f) => !f.endsWith('.js'))).toEqual([]);
    expect(dist.filter((f) => f.startsWith('dist/server-image/')).sort()).toEqual([
      'dist/server-image/src/env.js',
      'dist/server-image/src/router/routes.js',
    ]);
    expect(existsSync(join(app, 'dist/operator/src/plugin'))).toBe(false);
    const modules = readdirSync(join(app, 'node_modules'));
    for (const pkg of ['@kubernetes', '@sinclair', 'commander', 'prom-client', 'winston'])
      expect(modules).toContain(pkg);
    for (const pkg of ['onnxruntime-node', '@aws-sdk', 'typescript', 'jest', 'express'])
      expect(modules).not.toContain(pkg);
  });

  it(
    'runs its entrypoint as its user on a read-only root filesystem: --help lists the flags, exit 0',
    async () => {
      const help = await runInImage(['--help']).done;
      expect(help).toMatchObject({ code: 0, stderr: '' });
      for (const flag of [
        '--kubeconfig',
        '--namespaces',
        '--server-image',
        '--log-level',
        '--metrics-port',
        '--health-port',
        '--no-leader-elect',
        '--concurrency',
        '--max-concurrent-rollouts',
      ]) {
        expect(help.stdout).toContain(flag);
      }
      // The version comes from /app/package.json, which the image keeps for that reason.
      const version = await runInImage(['--version']).done;
      expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    },
    MINUTE,
  );

  it('the sandbox is what it claims: the image user, the V8 flag applied, / read-only, /tmp writable', async () => {
    const probe = [
      'const fs = require("node:fs");',
      'const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); return "ok"; } catch (e) { return e.code; } };',
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),',
      '  cwd: process.cwd(), v8Flags: process.execArgv.filter((a) => a.startsWith("--")),',
      '  app: tryWrite("/app/x"), root: tryWrite("/x"), tmp: tryWrite("/tmp/x") }));',
    ].join('\n');
    const [node, v8flag] = config.entrypoint;
    const result = await runInImage(['-e', probe], { command: [node!, v8flag!] }).done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const seen = JSON.parse(result.stdout) as Record<string, unknown>;
    const [uid, gid] = config.user.split(':').map(Number);
    expect(seen).toMatchObject({
      uid,
      gid,
      groups: [gid],
      cwd: '/app',
      v8Flags: ['--max-semi-space-size=2'],
      app: 'EROFS',
      root: 'EROFS',
      tmp: 'ok',
    });
  });

  it(
    "reconciles a ModelDeployment from the image under the operator's own RBAC, and stops on SIGTERM with exit 0",
    async () => {
      await installCrds();
      await installRbac();
      const tmp = join(work, 'tmp-operator');
      mkdirSync(tmp, { recursive: true });
      // Mounted into the image as its /tmp (an emptyDir would hold a projected token the same way).
      copyFileSync(await operatorKubeconfig(), join(tmp, 'kubeconfig'));
      chmodSync(join(tmp, 'kubeconfig'), 0o644);
      const [metricsPort, healthPort] = [await freePort(), await freePort()];
      // Its own namespace only: what other test files left in the shared control plane is not this test's business.
      const ns = await createNamespace('opimage');
      const operator = runInImage(
        [
          '--kubeconfig=/tmp/kubeconfig',
          `--namespaces=${ns}`,
          '--no-leader-elect',
          '--bind-address=127.0.0.1',
          `--metrics-port=${metricsPort}`,
          `--health-port=${healthPort}`,
        ],
        { tmp },
      );
      try {
        await eventually(
          async () => (await httpGet(`http://127.0.0.1:${healthPort}/readyz`)).status === 200,
          60_000,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${operator.output().slice(-3000)}`);
        });
        await kubectlOk(
          ['apply', '-n', ns, '-f', '-'],
          yaml.dump({
            apiVersion: 'modelship.dev/v1alpha1',
            kind: 'ModelDeployment',
            metadata: { name: 'from-image' },
            spec: { model: { version: '1.0.0', storageUri: 'file:///models/m.onnx' } },
          }),
        );
        const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
        const deployments = await eventually(async () => {
          const list = await apps.listNamespacedDeployment({
            namespace: ns,
            labelSelector: 'modelship.dev/deployment=from-image',
          });
          return list.items.length > 0 && list.items;
        }, 60_000);
        expect(deployments[0]!.spec!.template.spec!.containers[0]!.image).toBe('modelship/server:0.1.0');
        // The reconcile that applied the Deployment is counted once it has also written the status.
        await eventually(async () => {
          const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
          return /modelship_operator_reconcile_total\{result="(success|requeue)"\} [1-9]/.test(metrics.body);
        }, 30_000);
      } finally {
        operator.signal('SIGTERM');
      }
      const result = await operator.done;
      // A list retried while the API server (re)initializes a CRD it just got (this file may run first on a fresh
      // control plane) is the informer doing its job; anything else on stderr is a failure.
      const unexpected = result.stderr
        .split('\n')
        .filter((l) => l.trim() && !/"level":"warn".*"message":"list failed, retrying"/.test(l));
      expect({ code: result.code, stderr: unexpected }).toEqual({ code: 0, stderr: [] });
      // Nothing but the kubeconfig was written to its only writable folder.
      expect(readdirSync(tmp)).toEqual(['kubeconfig']);
    },
    3 * MINUTE,
  );
});
