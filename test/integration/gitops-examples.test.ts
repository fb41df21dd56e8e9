/**
 * The Argo CD example in examples/gitops/, checked by the real API server: Argo CD's own Application CRD (from the
 * argo-cd Go module, at the version test/gitops pins) validates every Application (`kubectl apply --dry-run=server`,
 * with kubectl's strict field validation, so a misspelt field is refused, not dropped), and the generated
 * ModelDeployment CRD accepts the ModelDeployments the second Application syncs, applied the way Argo CD applies them
 * with ServerSideApply=true. What the API server cannot know is checked from the files: the waves order the chart
 * before the models, every path the Applications name is this repository's, and the README's links resolve.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { createNamespace, installCrds, kubectl, kubectlOk, repoRoot } from '../support/cluster.js';
import { argoCdVersion, installArgoCdApplicationCrd } from '../support/foreign-crds.js';

const gitops = join(repoRoot, 'examples/gitops');

interface Application {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; finalizers?: string[] };
  spec: {
    project: string;
    source: {
      repoURL: string;
      targetRevision?: string;
      path: string;
      helm?: { releaseName?: string; valueFiles?: string[] };
      directory?: { recurse?: boolean };
    };
    destination: { server?: string; namespace?: string };
    syncPolicy?: {
      automated?: { prune?: boolean; selfHeal?: boolean };
      syncOptions?: string[];
    };
  };
}

/** Every YAML file under examples/gitops/, relative to the repository, with its documents. */
function yamlFiles(): { file: string; docs: { kind?: string }[] }[] {
  return readdirSync(gitops, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({
      file: relative(repoRoot, join(gitops, f)),
      docs: yaml.loadAll(readFileSync(join(gitops, f), 'utf8')) as { kind?: string }[],
    }));
}

const applicationFiles = () => yamlFiles().filter((f) => f.docs.every((d) => d.kind === 'Application'));
const applications = (): Application[] => applicationFiles().flatMap((f) => f.docs as Application[]);
const byName = (name: string): Application => {
  const app = applications().find((a) => a.metadata.name === name);
  if (!app) throw new Error(`no Application ${name} in examples/gitops`);
  return app;
};
const wave = (app: Application) => Number(app.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0');

beforeAll(async () => {
  await installCrds();
  await installArgoCdApplicationCrd();
  // The examples' Applications live in Argo CD's namespace, as Argo CD requires by default.
  await kubectlOk(
    ['apply', '-f', '-'],
    yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }),
  );
}, 300_000);

describe(`examples/gitops/ against Argo CD ${argoCdVersion()}'s Application CRD`, () => {
  it('holds only Applications and ModelDeployments, and at least the app of apps, the chart and the models', () => {
    const files = yamlFiles();
    for (const { file, docs } of files)
      for (const d of docs)
        expect({ file, kind: d.kind }).toEqual({
          file,
          kind: file.startsWith('examples/gitops/models/') ? 'ModelDeployment' : 'Application',
        });
    expect(applications().map((a) => a.metadata.name)).toEqual(
      expect.arrayContaining(['modelship-root', 'modelship', 'modelship-models']),
    );
  });

  it.each(applicationFiles().map((f) => f.file))(
    'the API server accepts %s (dry run, strict field validation)',
    async (file) => {
      const r = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', join(repoRoot, file)]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(
        /application\.argoproj\.io\/\S+ (created|configured|unchanged) \(server dry run\)/,
      );
    },
  );

  it('the CRD is strict enough to matter: a misspelt sync option field is refused, naming it', async () => {
    const app = byName('modelship-models');
    const wrong = {
      ...app,
      spec: {
        ...app.spec,
        syncPolicy: { ...app.spec.syncPolicy, automated: { prun: true, selfHeal: true } },
      },
    };
    const r = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], yaml.dump(wrong));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "spec\.syncPolicy\.automated\.prun"/);
  });

  it('the ModelDeployments the models Application syncs are accepted by the ModelDeployment CRD', async () => {
    const ns = await createNamespace('gitops-models');
    const dir = join(repoRoot, byName('modelship-models').spec.source.path);
    // Client-side, and server-side under Argo CD's field manager as ServerSideApply=true applies them.
    for (const args of [
      ['apply', '--dry-run=server', '--validate=strict', '-n', ns, '-R', '-f', dir],
      [
        'apply',
        '--server-side',
        '--field-manager=argocd-controller',
        '--dry-run=server',
        '--validate=strict',
        '-n',
        ns,
        '-R',
        '-f',
        dir,
      ],
    ]) {
      const r = await kubectl(args);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(
        /modeldeployment\.modelship\.dev\/iris (created|serverside-applied) \(server dry run\)/,
      );
    }
  });
});

describe('the example as Argo CD reads it', () => {
  it('syncs the chart (wave -1) before the ModelDeployments (a later wave), from the app of apps', () => {
    const root = byName('modelship-root');
    const children = readdirSync(join(repoRoot, root.spec.source.path))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap(
        (f) => yaml.loadAll(readFileSync(join(repoRoot, root.spec.source.path, f), 'utf8')) as Application[],
      )
      .map((a) => a.metadata.name)
      .sort();
    expect(children).toEqual(['modelship', 'modelship-models']);
    expect(wave(byName('modelship'))).toBe(-1);
    expect(wave(byName('modelship-models'))).toBeGreaterThanOrEqual(0);
  });

  it('installs the chart as release modelship in modelship-system with its values file', () => {
    const chart = byName('modelship');
    expect(chart.spec.source.path).toBe('charts/modelship');
    expect(chart.spec.source.helm).toEqual({ releaseName: 'modelship', valueFiles: ['values.yaml'] });
    expect(chart.spec.destination.namespace).toBe('modelship-system');
    expect(chart.spec.syncPolicy?.syncOptions).toContain('CreateNamespace=true');
    // Deleting it must not cascade to the CRD (and so to every ModelDeployment): no resources finalizer.
    expect(chart.metadata.finalizers).toBeUndefined();
  });

  it('points the models Application at a folder of this repository that holds ModelDeployments only', () => {
    const models = byName('modelship-models');
    const dir = join(repoRoot, models.spec.source.path);
    expect(existsSync(dir)).toBe(true);
    const files = yamlFiles().filter((f) => f.file.startsWith(`${models.spec.source.path}/`));
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => f.docs.map((d) => d.kind))).toEqual(
      files.flatMap((f) => f.docs.map(() => 'ModelDeployment')),
    );
  });

  it('syncs automatically with prune, self-heal and server-side apply, all from one repoURL to change', () => {
    const apps = applications();
    for (const app of apps) {
      expect({ app: app.metadata.name, automated: app.spec.syncPolicy?.automated }).toEqual({
        app: app.metadata.name,
        automated: { prune: true, selfHeal: true },
      });
      expect({ app: app.metadata.name, options: app.spec.syncPolicy?.syncOptions }).toEqual({
        app: app.metadata.name,
        options: expect.arrayContaining(['ServerSideApply=true']),
      });
      expect(app.metadata.namespace).toBe('argocd');
      expect(app.spec.destination.server).toBe('https://kubernetes.default.svc');
    }
    expect(new Set(apps.map((a) => a.spec.source.repoURL)).size).toBe(1);
    const readme = readFileSync(join(gitops, 'README.md'), 'utf8');
    expect(readme).toContain(apps[0]!.spec.source.repoURL);
  });

  it('has a README whose relative links all resolve', () => {
    const readme = readFileSync(join(gitops, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links)
      expect({ link, exists: existsSync(join(gitops, link)) }).toEqual({ link, exists: true });
    // The health check it points to is the generated one.
    expect(links.map((l) => relative(repoRoot, join(gitops, l)))).toContain('config/argocd/argocd-cm.yaml');
  });
});
