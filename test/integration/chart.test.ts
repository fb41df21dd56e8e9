/**
 * The Helm chart (charts/modelship), checked by the real Helm CLI (built from its Go module, cached) and the real API
 * server: `helm lint --strict` and `helm template` for every combination of values users are expected to set, each
 * rendering applied with `kubectl apply --dry-run=server` (the Prometheus Operator's CRDs installed from their module,
 * so ServiceMonitor, PodMonitor and PrometheusRule are validated too), the operator's pod admitted by Pod Security's
 * `restricted` level, the RBAC equal to operator/src/rbac.ts with no wildcard, and bad values refused by Helm itself
 * before anything reaches the cluster. Installing it onto a node is the end-to-end tier's job (test/e2e/helm.test.ts).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ensureHelm, helm, helmOk } from '../../cluster/src/helm.js';
import { leaderElectionRules, watchRules } from '../../operator/src/rbac.js';
import {
  createNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import { installPrometheusOperatorCrds } from '../support/foreign-crds.js';

const chart = join(repoRoot, 'charts/modelship');
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

let releaseNs: string;
let watchedA: string;
let watchedB: string;

/** The value combinations users are expected to set, each rendered, linted and validated by the API server. */
const combinations = (): Record<string, string[]> => ({
  defaults: [],
  namespaced: [
    '--set',
    `watchNamespaces={${watchedA},${watchedB}}`,
    '--set',
    'replicaCount=1',
    '--set',
    'leaderElection.enabled=false',
  ],
  monitoring: [
    '--set',
    'metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true,prometheusRule.enabled=true',
    '--set',
    'grafanaDashboard.enabled=true,metrics.serviceMonitor.labels.release=prom,prometheusRule.labels.release=prom',
  ],
  'namespaced with monitoring': [
    '--set',
    `watchNamespaces={${watchedA}}`,
    '--set',
    'metrics.podMonitor.enabled=true,prometheusRule.enabled=true',
  ],
  'existing service account, no RBAC, pinned image': [
    '--set',
    'serviceAccount.create=false,serviceAccount.name=platform-operator,rbac.create=false',
    '--set',
    `image.digest=sha256:${'a'.repeat(64)}`,
    '--set',
    'serverImage=registry.example.com/modelship/server:0.1.0',
    '--set-json',
    'extraArgs=["--resync-period-ms=300000"]',
    '--set-json',
    'extraEnv=[{"name":"NODE_EXTRA_CA_CERTS","value":"/etc/ssl/extra.pem"}]',
  ],
});

async function render(values: string[], extra: string[] = []): Promise<Doc[]> {
  const out = await helmOk(['template', 'modelship', chart, '-n', releaseNs, ...extra, ...values]);
  return (yaml.loadAll(out) as (Doc | null)[]).filter((d): d is Doc => d !== null);
}

const ofKind = (docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind);

beforeAll(async () => {
  // Helm is built from its module on a machine's first run (minutes): here, not in a test's own time limit.
  await ensureHelm();
  await installCrds();
  await installPrometheusOperatorCrds();
  releaseNs = await createNamespace('chart');
  watchedA = await createNamespace('chart-team-a');
  watchedB = await createNamespace('chart-team-b');
}, 10 * 60_000);

describe('the chart, checked by Helm', () => {
  it('passes helm lint --strict with every combination of values', async () => {
    for (const [name, values] of Object.entries(combinations())) {
      const r = await helm(['lint', '--strict', chart, '-n', releaseNs, ...values]);
      expect({ name, code: r.code, output: r.stdout + r.stderr }).toMatchObject({ name, code: 0 });
    }
  });

  it('refuses bad values by the chart schema, naming the value, before anything reaches the cluster', async () => {
    const refused: [string[], RegExp][] = [
      [['--set', 'replicaCount=two'], /replicaCount.*got string, want integer/],
      [['--set', 'replicaCount=0'], /replicaCount.*minimum/],
      [['--set', 'replicas=2'], /additional properties 'replicas' not allowed/],
      [['--set', 'logLevel=verbose'], /logLevel/],
      [['--set', 'leaderElection.enabled=false'], /leaderElection\/enabled.*must be true/],
      [['--set', 'watchNamespaces={Team_A}'], /watchNamespaces\/0/],
      [['--set', 'image.digest=latest'], /image\/digest/],
      [['--set', 'metrics.serviceMonitor.interval=often'], /serviceMonitor\/interval/],
    ];
    for (const [values, message] of refused) {
      // A real install against the cluster, as a user would type it.
      const r = await helm(['install', 'refused', chart, '-n', releaseNs, ...values], {
        kubeconfig: kubeconfigPath(),
      });
      expect({ values, code: r.code }).toEqual({ values, code: 1 });
      expect(r.stderr).toMatch(message);
    }
    // Nothing was installed: no release, no operator Deployment.
    expect((await helmOk(['list', '-n', releaseNs, '-q'], { kubeconfig: kubeconfigPath() })).trim()).toBe('');
    const deployments = await kubectlOk(['get', 'deployments', '-n', releaseNs, '-o', 'name']);
    expect(deployments.trim()).toBe('');
  });

  it('ships the CRDs byte for byte as crds/ has them', async () => {
    const files = ['modelship.dev_modeldeployments.yaml', 'modelship.dev_modelversions.yaml'];
    const docs = ofKind(await render([], ['--include-crds']), 'CustomResourceDefinition');
    expect(docs).toHaveLength(files.length);
    for (const file of files) {
      const shipped = readFileSync(join(chart, 'crds', file), 'utf8');
      expect(shipped).toBe(readFileSync(join(repoRoot, 'crds', file), 'utf8'));
      expect(docs).toContainEqual(yaml.load(shipped));
    }
  });
});

describe('every rendering, validated by the API server', () => {
  it('is accepted by kubectl apply --dry-run=server for every combination of values', async () => {
    for (const [name, values] of Object.entries(combinations())) {
      const docs = await render(values);
      const r = await kubectl(
        ['apply', '--dry-run=server', '-f', '-'],
        docs.map((d) => yaml.dump(d)).join('---\n'),
      );
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
      // Every rendered object was sent: none was dropped by a template that rendered nothing valid.
      expect(r.stdout.trim().split('\n')).toHaveLength(docs.length);
    }
  });

  it("admits the operator's pod under Pod Security's restricted level", async () => {
    const [deployment] = ofKind(await render([]), 'Deployment');
    const template = (deployment as unknown as { spec: { template: { metadata: object; spec: object } } })
      .spec.template;
    const restricted = await createNamespace('chart-restricted');
    await kubectlOk([
      'label',
      'namespace',
      restricted,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest',
    ]);
    // The release's ServiceAccount does not exist in this namespace: the pod runs as the default one here.
    const podSpec = { ...(template.spec as object), serviceAccountName: 'default' };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'operator' }, spec: podSpec };
    const r = await kubectl(['create', '--dry-run=server', '-n', restricted, '-f', '-'], yaml.dump(pod));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    // The check can fail: the same pod as root is refused.
    const root = {
      ...pod,
      spec: { ...podSpec, securityContext: { runAsNonRoot: false, runAsUser: 0 } },
    };
    const refused = await kubectl(
      ['create', '--dry-run=server', '-n', restricted, '-f', '-'],
      yaml.dump(root),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted/);
  });
});

describe('what the chart installs', () => {
  it('passes --require-model-digest with requireModelDigest', async () => {
    const docs = await render(['--set', 'requireModelDigest=true']);
    const [deployment] = ofKind(docs, 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    }[];
    expect(deployment!.spec.template.spec.containers[0]!.args).toContain('--require-model-digest');
  });

  it('runs 2 operator pods with leader election, probes, a PDB, a metrics Service and POD_NAMESPACE', async () => {
    const docs = await render([]);
    const [deployment] = ofKind(docs, 'Deployment') as unknown as {
      spec: {
        replicas: number;
        template: {
          spec: {
            serviceAccountName: string;
            securityContext: Record<string, unknown>;
            containers: {
              image: string;
              args: string[];
              env: { name: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
              livenessProbe: { httpGet: { path: string } };
              readinessProbe: { httpGet: { path: string } };
              resources: { requests: Record<string, string> };
              securityContext: Record<string, unknown>;
            }[];
          };
        };
      };
    }[];
    const spec = deployment!.spec.template.spec;
    const container = spec.containers[0]!;
    expect(deployment!.spec.replicas).toBe(2);
    expect(container.image).toBe(`modelship/operator:${packageVersion()}`);
    expect(container.args).toContain('--leader-election-id=modelship-operator');
    expect(container.args).not.toContain('--no-leader-elect');
    expect(container.args).not.toContain('--require-model-digest');
    expect(container.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef.fieldPath).toBe(
      'metadata.namespace',
    );
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '192Mi' });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(ofKind(docs, 'PodDisruptionBudget')).toHaveLength(1);
    const [service] = ofKind(docs, 'Service') as unknown as { spec: { ports: { name: string }[] } }[];
    expect(service!.spec.ports.map((p) => p.name)).toEqual(['metrics']);
    // Off by default: nothing that needs the Prometheus Operator or Grafana.
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap'])
      expect({ kind, n: ofKind(docs, kind).length }).toEqual({ kind, n: 0 });
  });

  it('grants exactly operator/src/rbac.ts, with no wildcard: cluster-wide, or per watched namespace', async () => {
    const noWildcard = (rules: Rule[]) => {
      for (const r of rules)
        for (const field of [r.apiGroups, r.resources, r.verbs]) expect(field).not.toContain('*');
    };
    const all = await render([]);
    const [clusterRole] = ofKind(all, 'ClusterRole') as unknown as { rules: Rule[] }[];
    expect(clusterRole!.rules).toEqual(watchRules);
    const leader = ofKind(all, 'Role') as unknown as (Doc & { rules: Rule[] })[];
    expect(leader.map((r) => [r.metadata.namespace, r.rules])).toEqual([[releaseNs, leaderElectionRules]]);

    const namespaced = await render(combinations().namespaced!);
    expect(ofKind(namespaced, 'ClusterRole')).toHaveLength(0);
    expect(ofKind(namespaced, 'ClusterRoleBinding')).toHaveLength(0);
    const roles = ofKind(namespaced, 'Role') as unknown as (Doc & { rules: Rule[] })[];
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual([releaseNs, watchedA, watchedB].sort());
    for (const r of [...roles, clusterRole!]) noWildcard(r.rules);
    const [deployment] = ofKind(namespaced, 'Deployment');
    expect(JSON.stringify(deployment)).toContain(
      `"MODELSHIP_WATCH_NAMESPACES","value":"${watchedA},${watchedB}"`,
    );
    expect(JSON.stringify(deployment)).toContain('--no-leader-elect');
  });

  it('renders the alerts and the dashboard from the files promtool checks', async () => {
    const docs = await render(combinations().monitoring!);
    const [rule] = ofKind(docs, 'PrometheusRule') as unknown as { spec: { groups: unknown[] } }[];
    const source = yaml.load(readFileSync(join(chart, 'files/prometheus-rules.yaml'), 'utf8')) as {
      groups: unknown[];
    };
    expect(rule!.spec.groups).toEqual(source.groups);
    const [dashboard] = ofKind(docs, 'ConfigMap') as unknown as (Doc & { data: Record<string, string> })[];
    expect(dashboard!.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard!.data['modelship.json']!)).toEqual(
      JSON.parse(readFileSync(join(chart, 'files/grafana-dashboard.json'), 'utf8')),
    );
    const [podMonitor] = ofKind(docs, 'PodMonitor') as unknown as { spec: Record<string, unknown> }[];
    expect(podMonitor!.spec).toMatchObject({
      namespaceSelector: { any: true },
      selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'modelship' } },
    });
  });
});

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
