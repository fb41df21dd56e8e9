/**
 * examples/gitops as Argo CD syncs it, with the real Argo CD: its application controller and repo-server (v3.6.1,
 * the version test/gitops/go.mod requires, built from the Go module proxy) and a Redis from Debian's archive run as
 * host processes against the local cluster with a real node. A file:// git repository holds what the example
 * needs (charts/modelship and examples/gitops, with the repoURL placeholders pointed at that repository and nothing
 * else changed); argocd-cm holds config/argocd/argocd-cm.yaml's ModelDeployment health check and Argo CD's
 * documented Application health check (the one that makes the app of apps' sync waves wait, examples/gitops/
 * README.md step 3). Then `kubectl apply -f examples/gitops/root.yaml` and:
 *   - the three Applications become Synced and Healthy; the chart's operator pods (the operator image, imported
 *     into the node) run in modelship-system, and the models' Application was created only once they were up;
 *   - Argo CD reports the iris ModelDeployment (in the Application's .status.resources: --persist-resource-health)
 *     Healthy once it serves version 1, loaded over HTTP from the local cluster's model file server;
 *   - a commit switching it to version 2 is synced (the refresh annotation, as a Git webhook would): Argo CD reports
 *     the ModelDeployment Progressing while the canary walks its steps under load, then Healthy once version 2
 *     serves, with no failed request.
 *
 * Opt-in (`make test-argocd`, root): not part of `make test`. Costs measured on this 2-core machine (2026-12-02,
 * beside another agent's jobs, load 4 to 11):
 *   - building Argo CD cold (once, into ~/.cache/modelship/argocd/<version>): 732 CPU-s (602 user, 129 system) and
 *     12.2 min at nice 10, a 162 MB binary; Go 1.27.3 and most modules were already in the Go module cache (test/gitops
 *     requires the same argo-cd). Redis: four .debs, 2 s.
 *   - a run with everything cached: 2.3 min (the node ready in 17 s; root.yaml to every Application Synced and
 *     Healthy in 27 s; a commit to the ModelDeployment Progressing in 1 s, Healthy in 36 s), plus about 30 s the
 *     first time for the operator image.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { waitForCrdsEstablished } from '../../cluster/src/kubectl.js';
import { importImages } from '../../cluster/src/node/images.js';
import { sampleModels, storeNamespace } from '../../cluster/src/node/model-store.js';
import {
  ensureArgocd,
  ensureRedis,
  serverSecretKey,
  startArgocd,
  type ArgocdInstall,
  type ArgocdProcesses,
} from '../support/argocd.js';
import { eventually, kubeconfigPath, kubectlOk, repoRoot } from '../support/cluster.js';
import { clusterIp, core, custom, infer, irisRequest, kc, loadGenerator } from '../e2e/support.js';

const git = promisify(execFile);
const MINUTE = 60_000;
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const apps = kc.makeApiClient(k8s.AppsV1Api);
const PLACEHOLDER = 'https://github.com/your-org/modelship.git # CHANGE ME';
const APPS = ['modelship-root', 'modelship', 'modelship-models'];
const rows = [[5.1, 3.5, 1.4, 0.2]];

let install: ArgocdInstall;
let argocd: ArgocdProcesses | undefined;
let repo: string;

function clusterDir(): string {
  const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR;
  if (!dir) throw new Error('MODELSHIP_TEST_CLUSTER_DIR is not set: this runs under the argocd global setup');
  return dir;
}

// --- the git repository ---------------------------------------------------------------------------------------

async function gitIn(...args: string[]): Promise<string> {
  const { stdout } = await git('git', ['-C', repo, ...args]);
  return stdout.trim();
}

/** A commit of everything in the work tree; returns its hash. */
async function commit(message: string): Promise<string> {
  await gitIn('add', '-A');
  await gitIn('commit', '-q', '-m', message);
  return gitIn('rev-parse', 'HEAD');
}

/** charts/modelship and examples/gitops, as a fork of this repository would hold them, at file://<repo>. */
async function makeRepository(): Promise<string> {
  repo = mkdtempSync(join(tmpdir(), 'modelship-gitops-repo-'));
  cpSync(join(repoRoot, 'charts/modelship'), join(repo, 'charts/modelship'), { recursive: true });
  cpSync(join(repoRoot, 'examples/gitops'), join(repo, 'examples/gitops'), { recursive: true });
  const url = `file://${repo}`;
  const files = ['root.yaml', ...readdirSync(join(repo, 'examples/gitops/apps')).map((f) => `apps/${f}`)];
  for (const f of files) {
    const path = join(repo, 'examples/gitops', f);
    const text = readFileSync(path, 'utf8');
    // Step 1 of examples/gitops/README.md: point repoURL at the repository; the paths are already this layout's.
    expect(text.split(PLACEHOLDER)).toHaveLength(2);
    writeFileSync(path, text.replace(PLACEHOLDER, url));
  }
  await gitIn('init', '-q', '-b', 'main');
  await gitIn('config', 'user.name', 'Modelship tests');
  await gitIn('config', 'user.email', 'tests@modelship.dev');
  await commit('Modelship with Argo CD: the chart and the models');
  return url;
}

// --- Argo CD's objects in the cluster ----------------------------------------------------------------------------

/** What `kubectl create -n argocd -f install.yaml` would give that the controller and repo-server read. */
async function installArgocdObjects(): Promise<void> {
  await kubectlOk(['create', 'namespace', 'argocd']);
  // Application and AppProject only: the ApplicationSet CRD alone adds about 250 MB to kube-apiserver.
  await kubectlOk(['apply', '--server-side', '-f', install.crdsDir]);
  await waitForCrdsEstablished(['applications.argoproj.io', 'appprojects.argoproj.io'], {
    kubeconfig: kubeconfigPath(),
  });
  const labels = { 'app.kubernetes.io/part-of': 'argocd' };
  // The committed argocd-cm.yaml (the ModelDeployment health check), plus step 3 of examples/gitops/README.md.
  const cm = yaml.load(readFileSync(join(repoRoot, 'config/argocd/argocd-cm.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  cm.data['resource.customizations.health.argoproj.io_Application'] = install.applicationHealthLua;
  const objects = [
    cm,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-rbac-cm', namespace: 'argocd', labels },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cmd-params-cm', namespace: 'argocd', labels },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: 'argocd', labels },
      stringData: { 'server.secretkey': serverSecretKey() },
    },
    // Argo CD's API server creates the project `default` on start; this test runs no API server.
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'default', namespace: 'argocd' },
      spec: {
        sourceRepos: ['*'],
        destinations: [{ server: '*', namespace: '*' }],
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
    },
  ];
  await kubectlOk(['apply', '--server-side', '-f', '-'], objects.map((o) => yaml.dump(o)).join('---\n'));
}

interface ResourceStatus {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: string;
  health?: { status?: string; message?: string };
}

interface Application {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    resources?: ResourceStatus[];
    conditions?: { type: string; message: string }[];
    operationState?: { phase?: string; message?: string };
  };
}

async function application(name: string): Promise<Application> {
  return (await custom.getNamespacedCustomObject({
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'applications',
    namespace: 'argocd',
    name,
  })) as Application;
}

/** One line per Application, for failure messages. */
async function describeApplications(): Promise<string> {
  const lines: string[] = [];
  for (const name of APPS) {
    const a = await application(name).catch(() => undefined);
    if (!a) {
      lines.push(`${name}: absent`);
      continue;
    }
    const s = a.status;
    lines.push(
      `${name}: sync ${s?.sync?.status} health ${s?.health?.status} (${s?.health?.message ?? ''}); ` +
        `operation ${s?.operationState?.phase}: ${s?.operationState?.message ?? ''}; ` +
        `conditions ${JSON.stringify(s?.conditions ?? [])}`,
    );
  }
  return lines.join('\n');
}

/** eventually(), failing with the Applications' states and Argo CD's logs. */
async function eventuallyArgo<T>(check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  try {
    return await eventually(check, timeoutMs, 500);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n${await describeApplications()}\n${argocd?.logs().slice(-6000) ?? ''}`,
    );
  }
}

/** The iris ModelDeployment as Argo CD reports it in modelship-models' .status.resources. */
async function irisAsArgoSees(): Promise<{ app: Application; iris?: ResourceStatus }> {
  const app = await application('modelship-models');
  const iris = app.status?.resources?.find(
    (r) => r.group === 'modelship.dev' && r.kind === 'ModelDeployment' && r.name === 'iris',
  );
  return { app, iris };
}

async function irisModelDeployment(): Promise<{
  metadata: { generation: number };
  status?: { phase?: string; observedGeneration?: number; stable?: { version?: string } };
}> {
  return (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: 'models',
    name: 'iris',
  })) as never;
}

// --- the run ----------------------------------------------------------------------------------------------------

beforeAll(async () => {
  install = await ensureArgocd();
  const redis = await ensureRedis();
  // The chart's default image, modelship/operator:<version> with pullPolicy IfNotPresent: no registry here.
  await importImages(clusterDir(), ['operator']);
  await makeRepository();
  await installArgocdObjects();
  argocd = await startArgocd(install, redis, kubeconfigPath());
}, 10 * MINUTE);

afterAll(async () => {
  await argocd?.stop();
  if (repo) await rm(repo, { recursive: true, force: true });
}, 2 * MINUTE);

describe('Argo CD syncs examples/gitops onto the local node', () => {
  it('the local model file server serves the sample models on this node', async () => {
    const ip = await clusterIp(storeNamespace, 'models');
    const r = await eventually(async () => {
      const res = await fetch(`http://${ip}/iris/2/model.onnx`, { signal: AbortSignal.timeout(5000) });
      return res.status === 200 && Buffer.from(await res.arrayBuffer());
    }, MINUTE);
    expect(r.equals(Buffer.from(sampleModels['iris/2/model.onnx']!()))).toBe(true);
  });

  it(
    'the app of apps syncs the chart (wave -1), then the models (wave 0): all Synced and Healthy',
    async () => {
      const started = Date.now();
      await kubectlOk(['apply', '-n', 'argocd', '-f', join(repo, 'examples/gitops/root.yaml')]);
      await eventuallyArgo(async () => {
        for (const name of APPS) {
          const s = (await application(name)).status;
          if (s?.sync?.status !== 'Synced' || s.health?.status !== 'Healthy') return false;
        }
        return true;
      }, 12 * MINUTE);
      process.stderr.write(
        `argocd: root.yaml to all Applications Synced and Healthy in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
      const head = await gitIn('rev-parse', 'HEAD');
      for (const name of APPS) expect((await application(name)).status?.sync?.revision).toBe(head);

      // The chart's operator, from the operator image, runs in modelship-system.
      const pods = (
        await core.listNamespacedPod({
          namespace: 'modelship-system',
          labelSelector: 'app.kubernetes.io/instance=modelship,app.kubernetes.io/name=modelship-operator',
        })
      ).items.filter((p) => !p.metadata?.deletionTimestamp);
      expect(pods).toHaveLength(2);
      for (const p of pods) {
        expect(p.status?.phase).toBe('Running');
        expect(p.spec?.containers[0]?.image).toBe(`modelship/operator:${version}`);
      }
      // Wave 0 waited for wave -1: the models' Application was created after the operator became available.
      const deployment = await apps.readNamespacedDeployment({
        namespace: 'modelship-system',
        name: 'modelship-operator',
      });
      const available = deployment.status?.conditions?.find(
        (c) => c.type === 'Available' && c.status === 'True',
      );
      expect(available?.lastTransitionTime).toBeDefined();
      const modelsCreated = new Date((await application('modelship-models')).metadata.creationTimestamp!);
      expect(modelsCreated.getTime()).toBeGreaterThanOrEqual(
        new Date(available!.lastTransitionTime!).getTime(),
      );
    },
    15 * MINUTE,
  );

  it(
    'reports the ModelDeployment Healthy once it serves version 1 from the model file server',
    async () => {
      const { iris } = await eventuallyArgo(async () => {
        const seen = await irisAsArgoSees();
        return seen.iris?.health?.status === 'Healthy' && seen;
      }, 5 * MINUTE);
      expect(iris?.status).toBe('Synced');
      expect(iris?.namespace).toBe('models');
      const md = await irisModelDeployment();
      expect(md.status?.phase).toBe('Ready');
      expect(md.status?.stable?.version).toBe('1');
      expect(md.status?.observedGeneration).toBe(md.metadata.generation);
      const ip = await clusterIp('models', 'iris');
      const r = await eventually(
        () => infer(`http://${ip}/v2/models/iris/infer`, irisRequest(rows)),
        MINUTE,
        250,
      );
      expect(r.model_version).toBe('1');
    },
    6 * MINUTE,
  );

  it(
    'syncs a commit of version 2: the ModelDeployment is Progressing during the canary, then Healthy',
    async () => {
      const ip = await clusterIp('models', 'iris');
      const url = `http://${ip}/v2/models/iris/infer`;
      // The canary's analysis judges real requests: a client keeps calling through the rollout.
      const load = loadGenerator(url, irisRequest(rows), 2, true);
      try {
        const file = join(repo, 'examples/gitops/models/iris.yaml');
        const before = readFileSync(file, 'utf8');
        // What examples/gitops/README.md says a rollout is: change version and storageUri, commit.
        const after = before
          .replace("version: '1'", "version: '2'")
          .replace('/iris/1/model.onnx', '/iris/2/model.onnx');
        expect(after).not.toBe(before);
        writeFileSync(file, after);
        const sha = await commit('iris: version 2');
        const committed = Date.now();
        // What a Git webhook does: ask for a refresh now rather than at the next poll.
        await kubectlOk([
          'annotate',
          '-n',
          'argocd',
          'application',
          'modelship-models',
          'argocd.argoproj.io/refresh=normal',
          '--overwrite',
        ]);
        const seen: string[] = [];
        const note = (health: string | undefined) => {
          if (health && seen[seen.length - 1] !== health) seen.push(health);
        };
        await eventuallyArgo(async () => {
          const { app, iris } = await irisAsArgoSees();
          if (app.status?.sync?.revision !== sha) return false;
          note(iris?.health?.status);
          return iris?.health?.status === 'Progressing';
        }, 3 * MINUTE);
        process.stderr.write(
          `argocd: commit to Progressing in ${((Date.now() - committed) / 1000).toFixed(1)} s\n`,
        );
        await eventuallyArgo(async () => {
          const { iris } = await irisAsArgoSees();
          note(iris?.health?.status);
          return iris?.health?.status === 'Healthy';
        }, 6 * MINUTE);
        process.stderr.write(
          `argocd: commit to Healthy in ${((Date.now() - committed) / 1000).toFixed(1)} s (health seen: ${seen.join(' -> ')})\n`,
        );
        expect(seen[seen.length - 1]).toBe('Healthy');
        expect(seen).toContain('Progressing');
        expect(seen).not.toContain('Degraded');
        const md = await irisModelDeployment();
        expect(md.status?.phase).toBe('Ready');
        expect(md.status?.stable?.version).toBe('2');
        const { app } = await irisAsArgoSees();
        expect(app.status?.sync?.status).toBe('Synced');
        expect(app.status?.health?.status).toBe('Healthy');
        const r = await eventually(async () => {
          const res = await infer(url, irisRequest(rows));
          return res.model_version === '2' && res;
        }, MINUTE);
        expect(r.model_version).toBe('2');
      } finally {
        await load.stop();
      }
      process.stderr.write(
        `argocd: answers under load during the rollout: ${JSON.stringify(load.report.versions)}\n`,
      );
      expect(load.report.errors).toEqual([]);
      expect(load.report.failed).toBe(0);
      expect(load.report.versions['1']).toBeGreaterThan(0);
      expect(load.report.versions['2']).toBeGreaterThan(0);
    },
    10 * MINUTE,
  );
});
