/**
 * The CRDs of the foreign APIs the traffic providers write (Gateway API's HTTPRoute, Istio's VirtualService),
 * taken from their Go modules at the versions pinned in cluster/versions.env and installed on the test cluster, so
 * that the real API server validates what the operator writes.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { readVersions } from '../../cluster/src/versions.js';
import { waitForCrdsEstablished } from '../../cluster/src/kubectl.js';
import { kubeconfigPath, kubectlOk } from './cluster.js';

const run = promisify(execFile);

async function moduleDir(module: string, version: string): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    env: { ...process.env, GOFLAGS: '', GOWORK: 'off' },
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
