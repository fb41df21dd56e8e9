/**
 * The CRDs of the foreign APIs the traffic providers write (Gateway API's HTTPRoute, Istio's VirtualService),
 * taken from their Go modules at the versions pinned in cluster/versions.env and installed on the test cluster, so
 * that the real API server validates what the operator writes; and Argo CD's Application CRD, at the argo-cd
 * version test/gitops pins, so that the API server validates the Applications in examples/gitops/.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { readVersions, repoRoot } from '../../cluster/src/versions.js';
import { waitForCrdsEstablished } from '../../cluster/src/kubectl.js';
import { kubeconfigPath, kubectlOk } from './cluster.js';

const run = promisify(execFile);

async function moduleDir(module: string, version: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    env: { ...process.env, GOFLAGS: '', GOWORK: 'off', ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir'}`);
  return info.Dir;
}

async function applyCrds(docs: object[], names: string[]): Promise<void> {
  await kubectlOk(
    ['apply', '--server-side', '--force-conflicts', '-f', '-'],
    docs.map((d) => yaml.dump(d)).join('---\n'),
  );
  await waitForCrdsEstablished(names, { kubeconfig: kubeconfigPath() });
}

/** Gateway API's standard CRDs (Gateway, GatewayClass, HTTPRoute, ...). */
export async function installGatewayApiCrds(): Promise<void> {
  const dir = await moduleDir('sigs.k8s.io/gateway-api', readVersions().GATEWAY_API_VERSION!);
  const files = ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'].map((k) =>
    join(dir, 'config/crd/standard', `gateway.networking.k8s.io_${k}.yaml`),
  );
  const docs = await Promise.all(files.map(async (f) => yaml.load(await readFile(f, 'utf8')) as object));
  await applyCrds(docs, ['httproutes.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io']);
}

/** Istio's VirtualService CRD alone (the module's file holds every Istio CRD). */
export async function installIstioVirtualServiceCrd(): Promise<void> {
  const dir = await moduleDir('istio.io/api', readVersions().ISTIO_API_VERSION!);
  const all = yaml.loadAll(
    await readFile(join(dir, 'kubernetes/customresourcedefinitions.gen.yaml'), 'utf8'),
  ) as {
    metadata?: { name?: string };
  }[];
  const vs = all.filter((d) => d?.metadata?.name === 'virtualservices.networking.istio.io');
  if (vs.length !== 1) throw new Error('no VirtualService CRD in istio.io/api');
  await applyCrds(vs, ['virtualservices.networking.istio.io']);
}

/** The Prometheus Operator's CRDs the chart renders objects of: ServiceMonitor, PodMonitor, PrometheusRule. */
export async function installPrometheusOperatorCrds(): Promise<void> {
  const dir = await moduleDir(
    'github.com/prometheus-operator/prometheus-operator',
    readVersions().PROMETHEUS_OPERATOR_VERSION!,
  );
  const kinds = ['servicemonitors', 'podmonitors', 'prometheusrules'];
  const docs = await Promise.all(
    kinds.map(
      async (k) =>
        yaml.load(
          await readFile(
            join(dir, 'example/prometheus-operator-crd', `monitoring.coreos.com_${k}.yaml`),
            'utf8',
          ),
        ) as object,
    ),
  );
  await applyCrds(
    docs,
    kinds.map((k) => `${k}.monitoring.coreos.com`),
  );
}

const argoCdModule = 'github.com/argoproj/argo-cd/v3';

/** The first line of test/gitops/go.mod that starts with `word`, split into its fields. */
function goModLine(word: string): string[] {
  const fields = readFileSync(join(repoRoot, 'test/gitops/go.mod'), 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find(([first]) => first === word);
  if (!fields?.[1]) throw new Error(`test/gitops/go.mod has no \`${word}\` line`);
  return fields;
}

/** The argo-cd version test/gitops/go.mod requires: the one whose health engine the GitOps health test runs. */
export const argoCdVersion = (): string => goModLine(argoCdModule)[1]!;

/**
 * Argo CD's Application CRD from its module (manifests/crds/application-crd.yaml). argo-cd v3.6's go.mod asks for
 * Go 1.27, which `go mod download` refuses under an older local Go unless GOTOOLCHAIN names a newer one: test/gitops's
 * `toolchain` (fetched once through the module proxy, as test/gitops/check.ts does for the build).
 */
export async function installArgoCdApplicationCrd(): Promise<void> {
  const dir = await moduleDir(argoCdModule, argoCdVersion(), { GOTOOLCHAIN: goModLine('toolchain')[1] });
  const crd = yaml.load(await readFile(join(dir, 'manifests/crds/application-crd.yaml'), 'utf8')) as object;
  await applyCrds([crd], ['applications.argoproj.io']);
}
