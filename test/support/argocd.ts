/**
 * A real Argo CD for the opt-in Argo CD tier (test/argocd): its application controller and repo-server built from
 * the Go module proxy and run as host processes, with a Redis from Debian's archive, against the test cluster.
 *
 * Argo CD is built at the version test/gitops/go.mod requires (the Lua health engine the integration tier runs is
 * the same code). Its go.mod replaces github.com/argoproj/argo-cd/gitops-engine/v3 with ./gitops-engine, a folder
 * the proxy's zip leaves out; the proxy serves that module at the same version, so the build copies the module,
 * drops the replace line and fetches it. One binary is every Argo CD component, chosen by its name (argv[0]), as
 * the upstream image links it. v3.6.1 needs Go 1.27: GOTOOLCHAIN fetches it through the proxy.
 *
 * Installed once under ~/.cache/modelship:
 *   argocd/<version>/bin/argocd (+ argocd-application-controller, argocd-repo-server: symlinks)
 *   argocd/<version>/path/      git-verify-wrapper.sh and gpg-wrapper.sh from the module's hack/ (the repo-server
 *                               runs the verify wrapper for every revision, even with GPG off)
 *   argocd/<version>/crds/      the Application and AppProject CRDs (not ApplicationSet: nothing here uses it, and
 *                               it alone adds about 250 MB to kube-apiserver)
 *   argocd/<version>/application-health.lua  the Application health check of Argo CD's health documentation
 *   redis/<debian version>/bin/redis-server   with its libraries (dpkg -x of the .debs, no installation)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { removeTree, runTool } from '../../cluster/src/images/tools.js';
import { ensureHelm } from '../../cluster/src/helm.js';
import {
  freePort,
  logTail,
  startComponent,
  stopComponent,
  type Component,
} from '../../cluster/src/process.js';
import { cachedTool } from '../../cluster/src/tool-cache.js';
import { repoRoot } from '../../cluster/src/versions.js';
import { eventually } from './cluster.js';

const execFileP = promisify(execFile);
const MODULE = 'github.com/argoproj/argo-cd/v3';
const GITOPS_ENGINE = 'github.com/argoproj/argo-cd/gitops-engine/v3';
const TOOLCHAIN = 'go1.27.3';
// Measured 2026-12-02 at nice 10 beside other jobs: 732 CPU-s, 12.2 min, with the modules already downloaded.
const COLD = 'about 730 CPU-s, 12 min on 2 cores beside other jobs, a 160 MB binary';

/** The argo-cd module version test/gitops/go.mod requires: the one Argo CD both tiers run. */
export function argocdVersion(): string {
  const goMod = readFileSync(join(repoRoot, 'test/gitops/go.mod'), 'utf8');
  const m = /^\s*github\.com\/argoproj\/argo-cd\/v3 (v\S+)/m.exec(goMod);
  if (!m) throw new Error('test/gitops/go.mod requires no github.com/argoproj/argo-cd/v3');
  return m[1]!;
}

export interface ArgocdInstall {
  version: string;
  /** Folder of argocd, argocd-application-controller and argocd-repo-server. */
  binDir: string;
  /** Folder to put on the repo-server's PATH (its GPG wrappers). */
  pathDir: string;
  crdsDir: string;
  /** The `argoproj.io_Application` health check documented by Argo CD (for app-of-apps sync waves). */
  applicationHealthLua: string;
}

/** The Lua of the "Argocd App" section of Argo CD's docs/operator-manual/health.md. */
function documentedApplicationHealth(healthMd: string): string {
  const section = healthMd.split('### Argocd App')[1];
  const block =
    section && /resource\.customizations\.health\.argoproj\.io_Application: \|\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('Argo CD health.md has no argoproj.io_Application health check');
  return block[1]!
    .split('\n')
    .map((l) => l.replace(/^ {4}/, ''))
    .join('\n')
    .trim();
}

/** Argo CD at argocdVersion(), built once (about 450 CPU-s cold). */
export async function ensureArgocd(): Promise<ArgocdInstall> {
  const version = argocdVersion();
  const binary = await cachedTool('argocd', version, 'argocd', COLD, async (dir, log) => {
    // argo-cd's go.mod says `go 1.27.0`: even downloading it needs that toolchain.
    const info = JSON.parse(
      await runTool('go', ['mod', 'download', '-json', `${MODULE}@${version}`], {
        env: { ...process.env, GOTOOLCHAIN: TOOLCHAIN, GOFLAGS: '', GOWORK: 'off' },
      }),
    ) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`go mod download ${MODULE}@${version}: ${info.Error ?? 'no Dir'}`);
    const moduleDir = info.Dir;
    const src = join(dir, 'src');
    cpSync(moduleDir, src, { recursive: true });
    await runTool('chmod', ['-R', 'u+w', src]);
    const goMod = join(src, 'go.mod');
    const text = await readFile(goMod, 'utf8');
    const replace = new RegExp(
      `^replace ${GITOPS_ENGINE.replace(/[./]/g, '\\$&')} => \\./gitops-engine\\n`,
      'm',
    );
    if (!replace.test(text))
      throw new Error(`argo-cd ${version}'s go.mod no longer replaces ${GITOPS_ENGINE}`);
    await writeFile(goMod, text.replace(replace, ''));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOTOOLCHAIN: TOOLCHAIN,
      GOFLAGS: '-mod=mod -trimpath',
      GOWORK: 'off',
      CGO_ENABLED: '0',
    };
    await runTool('go', ['mod', 'download', GITOPS_ENGINE], { cwd: src, env, log });
    const pkg = `${MODULE}/common`;
    const ldflags = `-s -w -X ${pkg}.version=${version} -X ${pkg}.gitTag=${version} -X ${pkg}.gitTreeState=clean`;
    const t0 = Date.now();
    await runTool('go', ['build', `-ldflags=${ldflags}`, '-o', join(dir, 'bin', 'argocd'), './cmd'], {
      cwd: src,
      env,
      log,
    });
    log(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const name of ['argocd-application-controller', 'argocd-repo-server'])
      await symlink('argocd', join(dir, 'bin', name));
    await mkdir(join(dir, 'path'));
    for (const name of ['git-verify-wrapper.sh', 'gpg-wrapper.sh']) {
      await copyFile(join(src, 'hack', name), join(dir, 'path', name));
      await chmod(join(dir, 'path', name), 0o755);
    }
    await mkdir(join(dir, 'crds'));
    for (const name of ['application-crd.yaml', 'appproject-crd.yaml'])
      await copyFile(join(src, 'manifests/crds', name), join(dir, 'crds', name));
    await writeFile(
      join(dir, 'application-health.lua'),
      documentedApplicationHealth(await readFile(join(src, 'docs/operator-manual/health.md'), 'utf8')) + '\n',
    );
    await removeTree(src);
  });
  const root = dirname(dirname(binary));
  return {
    version,
    binDir: dirname(binary),
    pathDir: join(root, 'path'),
    crdsDir: join(root, 'crds'),
    applicationHealthLua: readFileSync(join(root, 'application-health.lua'), 'utf8'),
  };
}

const REDIS_DEBS = ['redis-server', 'redis-tools', 'libjemalloc2', 'liblzf1'];

/** redis-server from Debian's archive (the candidate version of the machine's apt sources), unpacked once. */
export async function ensureRedis(): Promise<string> {
  const { stdout } = await execFileP('apt-cache', ['show', '--no-all-versions', 'redis-server']);
  const debVersion = /^Version: (?:\d+:)?(\S+)$/m.exec(stdout)?.[1];
  if (!debVersion) throw new Error('apt-cache knows no redis-server (apt-get update?)');
  const server = await cachedTool(
    'redis',
    debVersion,
    'redis-server',
    "four .debs from Debian's archive, seconds",
    async (dir, log) => {
      const debs = join(dir, 'debs');
      await mkdir(debs);
      await runTool('apt-get', ['download', ...REDIS_DEBS], { cwd: debs, log });
      const root = join(dir, 'root');
      for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
        await runTool('dpkg', ['-x', join(debs, deb), root], { log });
      await removeTree(debs);
      // redis-server is a symlink to redis-check-rdb (redis-tools): one binary, chosen by its name.
      await mkdir(join(dir, 'bin'));
      // Relative to the script: the install folder is renamed into place after this.
      await writeFile(
        join(dir, 'bin', 'redis-server'),
        '#!/bin/sh\nroot="$(dirname "$(readlink -f "$0")")/../root"\n' +
          'LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu" exec "$root/usr/bin/redis-server" "$@"\n',
      );
      await chmod(join(dir, 'bin', 'redis-server'), 0o755);
    },
  );
  return server;
}

export interface ArgocdProcesses {
  redisAddress: string;
  repoServerAddress: string;
  logs(): string;
  stop(): Promise<void>;
}

async function waitForPort(name: string, c: Component, port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  await eventually(
    () =>
      new Promise<boolean>((resolve, reject) => {
        if (c.exited) {
          reject(new Error(`${name} ${c.exited}\n${logTail(c, 30)}`));
          return;
        }
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    timeoutMs,
  );
}

/**
 * Starts Redis, the repo-server and the application controller (namespace argocd of the cluster of `kubeconfig`),
 * with private temporary folders. The cluster must already hold the CRDs, argocd-cm and its friends.
 */
export async function startArgocd(
  install: ArgocdInstall,
  redisServer: string,
  kubeconfig: string,
): Promise<ArgocdProcesses> {
  const helm = await ensureHelm();
  const dir = mkdtempSync(join(tmpdir(), 'modelship-argocd-'));
  const sub = (name: string) => {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const started: [string, Component][] = [];
  const stop = async () => {
    for (const [, c] of started.reverse()) await stopComponent(c);
    await removeTree(dir);
  };
  const logs = () => started.map(([n, c]) => `--- ${n}\n${logTail(c, 40)}`).join('\n');
  try {
    const redisPort = await freePort();
    const redis = startComponent(
      'redis',
      redisServer,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(redisPort),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        sub('redis'),
      ],
      join(dir, 'redis.log'),
    );
    started.push(['redis', redis]);
    await waitForPort('redis', redis, redisPort, 30_000);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: kubeconfig,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
      ARGOCD_GPG_ENABLED: 'false',
      TMPDIR: sub('tmp'),
      HOME: sub('home'),
      ARGOCD_TLS_DATA_PATH: sub('tls'),
      ARGOCD_SSH_DATA_PATH: sub('ssh'),
      ARGOCD_GNUPGHOME: sub('gnupg'),
      ARGOCD_GPG_DATA_PATH: sub('gpg-keys'),
      HELM_CACHE_HOME: sub('helm/cache'),
      HELM_CONFIG_HOME: sub('helm/config'),
      HELM_DATA_HOME: sub('helm/data'),
      PATH: [install.pathDir, dirname(helm), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    };
    const redisAddress = `127.0.0.1:${redisPort}`;
    const [repoPort, repoMetrics, ctrlMetrics] = [await freePort(), await freePort(), await freePort()];
    const repo = startComponent(
      'argocd-repo-server',
      join(install.binDir, 'argocd-repo-server'),
      [
        '--address',
        '127.0.0.1',
        '--port',
        String(repoPort),
        '--metrics-address',
        '127.0.0.1',
        '--metrics-port',
        String(repoMetrics),
        '--redis',
        redisAddress,
        '--loglevel',
        'info',
      ],
      join(dir, 'repo-server.log'),
      env,
    );
    started.push(['argocd-repo-server', repo]);
    await waitForPort('argocd-repo-server', repo, repoPort, 60_000);
    const repoServerAddress = `127.0.0.1:${repoPort}`;
    const ctrl = startComponent(
      'argocd-application-controller',
      join(install.binDir, 'argocd-application-controller'),
      [
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        'argocd',
        '--redis',
        redisAddress,
        '--repo-server',
        repoServerAddress,
        '--metrics-port',
        String(ctrlMetrics),
        '--app-resync',
        '30',
        '--app-resync-jitter',
        '0',
        '--persist-resource-health',
        '--loglevel',
        'info',
      ],
      join(dir, 'application-controller.log'),
      env,
    );
    started.push(['argocd-application-controller', ctrl]);
    await waitForPort('argocd-application-controller', ctrl, ctrlMetrics, 60_000);
    return { redisAddress, repoServerAddress, logs, stop };
  } catch (err) {
    const l = logs();
    await stop();
    throw new Error(`Argo CD did not start: ${(err as Error).message}\n${l}`);
  }
}

/** argocd-secret needs a server.secretkey, as the API server would create it. */
export function serverSecretKey(): string {
  return randomBytes(32).toString('base64');
}
