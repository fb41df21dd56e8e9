/**
 * GitOps safety, on the real control plane with the real operator process under its own RBAC: a ModelDeployment
 * applied by server-side apply under a GitOps tool's field manager (Argo CD's `argocd-controller` with the
 * ServerSideApply sync option, Flux's `kustomize-controller`), exactly as those tools apply it, shows no drift once
 * the operator has reconciled it:
 *
 * - `kubectl diff --server-side` under the tool's manager reports nothing (exit code 0), as the tools' own diffs would;
 * - `metadata.generation` never moves: the operator did not write the spec (the audit log shows that its every write
 *   to ModelDeployments went to the status subresource);
 * - managedFields: the operator's manager owns `status` alone, through the status subresource; the tool's manager owns
 *   exactly the fields of the file it applied, and nobody else owns anything (no labels, annotations, finalizers);
 * - the spec holds the file and the API server's schema defaults, nothing more: it equals a server-side dry-run apply
 *   of the same file where no object exists yet;
 * - applying the unchanged file again is a no-op (no new generation, no conflict), and a changed file (a commit) is
 *   applied without --force-conflicts, observed by the operator, and again leaves no diff;
 * - a `kubectl modelship` request (an annotation the plugin writes under its own manager) leaves no diff either.
 *
 * A last test shows why the diff alone is not enough: a spec default written under the operator's manager is invisible
 * to `kubectl diff --server-side` (the field is not the tool's, and its file does not set it), but not to the
 * generation, managedFields and dry-run checks.
 *
 * There is no node: the serving pods never start, which does not matter here; the operator acts on the object
 * (creates the revision's Deployment, writes status at the observed generation) as it would in any cluster.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { fieldManager as operatorManager } from '../../operator/src/kube/client.js';
import {
  createNamespace,
  deleteCreatedNamespaces,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  kubeconfigPath,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import {
  installRbac,
  operatorKubeconfig,
  operatorUser,
  startOperator,
  writesBy,
  type OperatorProcess,
} from '../support/operator.js';

/** The ModelDeployment the GitOps example syncs (examples/gitops/apps/models.yaml), unchanged. */
const exampleFile = join(repoRoot, 'examples/gitops/models/iris.yaml');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'modelship-gitops-safety-'));
const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
let operator: OperatorProcess;

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect', '--log-level=debug'],
  });
}, 120_000);

afterAll(async () => {
  await deleteCreatedNamespaces();
  expect(await operator?.stop()).toBe(0);
}, 180_000);

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
}
type Live = ModelDeployment & { metadata: { managedFields?: ManagedFieldsEntry[] } };

/**
 * The fields a managedFields `fieldsV1` set names, as paths. `.` marks the node itself; a node without `f:` members
 * is a leaf (a scalar, an atomic list or map, or a list owned through its `k:`/`v:`/`i:` elements).
 */
function ownedPaths(fields: Record<string, unknown>, prefix: string[] = []): string[] {
  const named = Object.entries(fields).filter(([k]) => k.startsWith('f:'));
  if (named.length === 0) return [JSON.stringify(prefix)];
  return named.flatMap(([k, v]) => ownedPaths(v as Record<string, unknown>, [...prefix, k.slice(2)]));
}

/** The fields an applied manifest sets, as paths of the same form (lists are leaves: see ownedPaths). */
function manifestPaths(value: unknown, prefix: string[] = []): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0)
    return Object.entries(value).flatMap(([k, v]) => manifestPaths(v, [...prefix, k]));
  return [JSON.stringify(prefix)];
}

/** What server-side apply records as the applier's: the manifest minus the identity it strips from managedFields. */
function appliedPaths(manifest: Record<string, unknown>): string[] {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = manifest;
  const { name: _n, namespace: _ns, ...meta } = metadata as Record<string, unknown>;
  return manifestPaths({ ...rest, metadata: meta }).sort();
}

/**
 * `kubectl diff --server-side` under `manager`, until it reports no difference (exit code 0). A status write of the
 * operator's that lands between kubectl's read of the live object and its dry-run shows as a difference in status and
 * resourceVersion for that one attempt, so a difference is retried; one that stays fails the test with kubectl's diff
 * output. Exit codes above 1 are kubectl's errors.
 */
async function expectNoDiff(manager: string, path: string): Promise<void> {
  await eventually(async () => {
    const r = await kubectl(['diff', '--server-side', `--field-manager=${manager}`, '-f', path]);
    if (r.code > 1) throw new Error(`kubectl diff failed (${r.code}): ${r.stderr}`);
    if (r.code === 1) throw new Error(`kubectl diff reports a difference:\n${r.stdout}`);
    return r.stdout === '' && r.stderr === '';
  }, 30_000);
}

/** The ModelDeployment as stored, with its managedFields. */
async function getLive(ns: string): Promise<Live> {
  return JSON.parse(
    await kubectlOk(['get', 'md', 'iris', '-n', ns, '-o', 'json', '--show-managed-fields']),
  ) as Live;
}

/** Waits until the operator has observed `generation` of the object and written its conditions. */
async function reconciled(ns: string, generation: number): Promise<Live> {
  return eventually(async () => {
    const md = await getLive(ns);
    return (
      md.metadata.generation === generation &&
      md.status?.observedGeneration === generation &&
      (md.status.conditions?.length ?? 0) > 0 &&
      md
    );
  }, 90_000);
}

describe.each([
  // Argo CD with the ServerSideApply=true sync option, and its annotation-based resource tracking (v3's default).
  {
    tool: 'Argo CD',
    manager: 'argocd-controller',
    metadata: {
      labels: { 'app.kubernetes.io/part-of': 'models' },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'modelship-models:modelship.dev/ModelDeployment:NS/iris',
      },
    },
  },
  // Flux's kustomize-controller, which labels what it applies with the Kustomization's name and namespace.
  {
    tool: 'Flux',
    manager: 'kustomize-controller',
    metadata: {
      labels: {
        'kustomize.toolkit.fluxcd.io/name': 'modelship-models',
        'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      },
      annotations: {},
    },
  },
])('a ModelDeployment applied by $tool (field manager $manager)', ({ manager, metadata }) => {
  let ns: string;
  let file: string;
  let manifest: Record<string, unknown>;
  let since: string;
  let appliedGeneration: number;

  const apply = (path: string, extra: string[] = []) =>
    kubectl(['apply', '--server-side', `--field-manager=${manager}`, '-f', path, ...extra]);
  /** Writes `manifest` as the GitOps tool renders it: the example plus the tool's tracking metadata. */
  function writeManifest(path: string, model?: Record<string, unknown>): Record<string, unknown> {
    const example = yaml.load(readFileSync(exampleFile, 'utf8')) as Record<string, unknown>;
    const spec = example.spec as Record<string, unknown>;
    const m = {
      ...example,
      metadata: {
        ...(example.metadata as object),
        namespace: ns,
        labels: metadata.labels,
        ...(Object.keys(metadata.annotations).length
          ? {
              annotations: Object.fromEntries(
                Object.entries(metadata.annotations).map(([k, v]) => [k, v.replace('NS', ns)]),
              ),
            }
          : {}),
      },
      spec: model ? { ...spec, model: { ...(spec.model as object), ...model } } : spec,
    };
    writeFileSync(path, yaml.dump(m));
    return m;
  }

  beforeAll(async () => {
    ns = await createNamespace(manager.split('-')[0]!);
    file = join(dir, `${manager}.yaml`);
    manifest = writeManifest(file);
    since = new Date().toISOString();
    const r = await apply(file);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    appliedGeneration = (await getLive(ns)).metadata.generation!;
    // The operator acted on it: the revision's Deployment exists and the status describes this generation.
    await eventually(
      async () =>
        (
          await apps.listNamespacedDeployment({
            namespace: ns,
            labelSelector: 'modelship.dev/deployment=iris',
          })
        ).items.length > 0,
      90_000,
    );
    await reconciled(ns, appliedGeneration);
  }, 180_000);

  it('shows no difference in kubectl diff --server-side under the same field manager', async () => {
    await expectNoDiff(manager, file);
  });

  it('keeps the generation it had when applied: the operator wrote status, never the spec', async () => {
    const md = await getLive(ns);
    expect(appliedGeneration).toBe(1);
    expect(md.metadata.generation).toBe(appliedGeneration);
    const writes = writesBy(
      operatorUser,
      since,
      (e) => e.objectRef?.resource === 'modeldeployments' && e.objectRef.namespace === ns,
    );
    expect(writes.length).toBeGreaterThan(0);
    expect(new Set(writes.map((e) => `${e.verb} ${e.objectRef?.subresource ?? '(the object)'}`))).toEqual(
      new Set(['patch status']),
    );
  });

  it("leaves status alone to the operator's field manager and exactly the applied fields to the tool's", async () => {
    const md = await getLive(ns);
    const entries = md.metadata.managedFields ?? [];
    // Nobody else owns anything in the object (no defaulting webhook, no other controller).
    expect(new Set(entries.map((f) => f.manager))).toEqual(new Set([manager, operatorManager]));
    const ours = entries.filter((f) => f.manager === operatorManager);
    expect(ours.length).toBeGreaterThan(0);
    for (const f of ours) {
      expect(f.subresource).toBe('status');
      expect(Object.keys(f.fieldsV1 ?? {})).toEqual(['f:status']);
    }
    const theirs = entries.filter((f) => f.manager === manager);
    expect(theirs.map((f) => [f.operation, f.subresource])).toEqual([['Apply', undefined]]);
    expect(ownedPaths(theirs[0]!.fieldsV1!).sort()).toEqual(appliedPaths(manifest));
    // The metadata is the file's: no finalizer, label or annotation of the operator's, no owner.
    const meta = manifest.metadata as { labels: object; annotations?: object };
    expect(md.metadata.labels).toEqual(meta.labels);
    expect(md.metadata.annotations).toEqual(meta.annotations);
    expect(md.metadata.finalizers).toBeUndefined();
    expect(md.metadata.ownerReferences).toBeUndefined();
  });

  it("holds the file and the API server's schema defaults in its spec, nothing else", async () => {
    const live = await getLive(ns);
    // The same file where no object exists yet: the file plus what the CRD's schema defaults, no one else's fields.
    const fresh = await createNamespace(`${manager.split('-')[0]!}-dry`);
    const freshResult = JSON.parse(
      await kubectlOk(
        ['apply', '--server-side', '--dry-run=server', `--field-manager=${manager}`, '-o', 'json', '-f', '-'],
        yaml.dump({ ...manifest, metadata: { ...(manifest.metadata as object), namespace: fresh } }),
      ),
    ) as Live;
    expect(live.spec).toEqual(freshResult.spec);
    // The comparison is worth something: the API server did default fields the file leaves out.
    expect((manifest.spec as { model: object }).model).not.toHaveProperty('format');
    expect(live.spec.model.format).toBe('onnx');
    expect(live.spec.runtime?.batching).toEqual({ maxBatchSize: 16, maxQueueDelayMs: 0, maxQueueSize: 1024 });
    // The same file onto the live object, as the tool's sync would apply it: the spec and metadata stay as they are.
    const sameResult = JSON.parse(
      await kubectlOk([
        'apply',
        '--server-side',
        '--dry-run=server',
        `--field-manager=${manager}`,
        '-o',
        'json',
        '-f',
        file,
      ]),
    ) as Live;
    expect(sameResult.spec).toEqual(live.spec);
    expect(sameResult.metadata.generation).toBe(live.metadata.generation);
    expect(sameResult.metadata.labels).toEqual(live.metadata.labels);
    expect(sameResult.metadata.annotations).toEqual(live.metadata.annotations);
  });

  it('takes the unchanged file again as a no-op: no conflict, no new generation, no write', async () => {
    // A no-op apply returns the stored object unchanged. Should the operator's status write land between the read
    // and the apply, the resourceVersions differ for that attempt only; an apply that wrote would never match.
    await eventually(async () => {
      const before = await getLive(ns);
      const r = await apply(file, ['-o', 'json']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const after = JSON.parse(r.stdout) as Live;
      expect(after.metadata.generation).toBe(appliedGeneration);
      return after.metadata.resourceVersion === before.metadata.resourceVersion;
    }, 30_000);
    expect((await getLive(ns)).metadata.generation).toBe(appliedGeneration);
    await expectNoDiff(manager, file);
  });

  it('takes a changed file (a commit) without --force-conflicts; the operator observes it; no diff after', async () => {
    const changed = join(dir, `${manager}-v2.yaml`);
    const m2 = writeManifest(changed, {
      version: '2',
      storageUri: 'http://models.modelship-local.svc.cluster.local/iris/2/model.onnx',
    });
    const r = await apply(changed);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const md = await reconciled(ns, appliedGeneration + 1);
    expect(md.spec.model.version).toBe('2');
    await expectNoDiff(manager, changed);
    const live = await getLive(ns);
    expect(live.metadata.generation).toBe(appliedGeneration + 1);
    const theirs = live.metadata.managedFields!.filter((f) => f.manager === manager);
    expect(ownedPaths(theirs[0]!.fieldsV1!).sort()).toEqual(appliedPaths(m2));
    for (const f of live.metadata.managedFields!.filter((e) => e.manager === operatorManager))
      expect([f.subresource, Object.keys(f.fieldsV1 ?? {})]).toEqual(['status', ['f:status']]);
  }, 120_000);

  it('leaves no diff after a kubectl modelship request (an annotation the plugin owns, the answer in status)', async () => {
    const before = await getLive(ns);
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'operator/src/plugin/cli.ts',
        `--kubeconfig=${kubeconfigPath()}`,
        'pause',
        'iris',
        '-n',
        ns,
      ],
      { cwd: repoRoot },
    );
    process.stdout.write(stdout);
    const after = await eventually(async () => {
      const md = await getLive(ns);
      return md.status?.lastRequest && md;
    });
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(Object.keys(after.metadata.annotations ?? {})).toContain('modelship.dev/request');
    await expectNoDiff(manager, join(dir, `${manager}-v2.yaml`));
    // The tool's own fields are still exactly its file's; the operator still owns status alone.
    const entries = after.metadata.managedFields!;
    for (const f of entries.filter((e) => e.manager === operatorManager))
      expect([f.subresource, Object.keys(f.fieldsV1 ?? {})]).toEqual(['status', ['f:status']]);
    const theirs = entries.filter((f) => f.manager === manager);
    expect(theirs.map((f) => f.operation)).toEqual(['Apply']);
  }, 120_000);
});

describe('the checks above, against an operator that would write the spec', () => {
  it('catch a default written into the spec, which kubectl diff --server-side alone does not show', async () => {
    // A write made by hand under the operator's field manager stands in for a controller that "helpfully" fills in a
    // default (the real operator reconciles this object too, and writes its status as usual).
    const ns = await createNamespace('misbehaving');
    const file = join(dir, 'misbehaving.yaml');
    const example = yaml.load(readFileSync(exampleFile, 'utf8')) as ModelDeployment;
    writeFileSync(file, yaml.dump({ ...example, metadata: { ...example.metadata, namespace: ns } }));
    await kubectlOk(['apply', '--server-side', '--field-manager=argocd-controller', '-f', file]);
    await kubectlOk(
      ['apply', '--server-side', `--field-manager=${operatorManager}`, '-f', '-'],
      yaml.dump({
        apiVersion: example.apiVersion,
        kind: example.kind,
        metadata: { name: example.metadata.name, namespace: ns },
        spec: { model: { ...example.spec.model }, runtime: { image: 'modelship/server:latest' } },
      }),
    );
    // The GitOps tool's server-side diff is blind to it: the field is someone else's, and its file does not set it.
    await reconciled(ns, 2);
    await expectNoDiff('argocd-controller', file);
    // The other checks see it: a new generation, the operator's manager owning spec, a spec beyond the defaults.
    const live = await getLive(ns);
    expect(live.metadata.generation).toBe(2);
    const ours = live.metadata.managedFields!.filter((f) => f.manager === operatorManager);
    expect(ours.map((f) => [f.subresource, Object.keys(f.fieldsV1 ?? {})])).toContainEqual([
      undefined,
      ['f:spec'],
    ]);
    const fresh = await createNamespace('misbehaving-dry');
    const dryRun = JSON.parse(
      await kubectlOk(
        [
          'apply',
          '--server-side',
          '--dry-run=server',
          '--field-manager=argocd-controller',
          '-o',
          'json',
          '-f',
          '-',
        ],
        yaml.dump({ ...example, metadata: { ...example.metadata, namespace: fresh } }),
      ),
    ) as Live;
    expect(live.spec).not.toEqual(dryRun.spec);
    expect(live.spec.runtime?.image).toBe('modelship/server:latest');
    expect(dryRun.spec.runtime?.image).toBeUndefined();
  });
});
