import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './binaries.js';
import type { Pki } from './pki.js';
import { writeAdminKubeconfig } from './kubeconfig.js';
import {
  freePort,
  httpGet,
  startComponent,
  stopComponent,
  waitFor,
  type Component,
  type TlsOptions,
} from './process.js';

/** The service network: the same range in every mode so that manifests and tests can rely on it. */
export const serviceClusterIpRange = '10.96.0.0/16';
export const clusterCidr = '10.244.0.0/16';

export interface ControlPlaneOptions {
  binaries: Binaries;
  pki: Pki;
  /** Working directory for data, certificates the components generate, logs and the kubeconfig. */
  dir: string;
  /** Fixed apiserver port; a free loopback port when absent. */
  apiserverPort?: number;
  /**
   * `loopback`: everything on 127.0.0.1, for tests without a node.
   * `node`: the apiserver also listens on the pod network gateway so pods reach it (see real node mode).
   */
  network: 'loopback' | 'node';
  timeoutMs?: number;
}

export interface ControlPlane {
  components: Component[];
  kubeconfig: string;
  server: string;
  ports: Record<string, number>;
  /** JSON lines, one per write request (create, update, patch, delete): who wrote what. */
  auditLog: string;
}

// Every write is recorded with its user, verb and object, so tests can count an operator's writes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

/** Starts etcd, kube-apiserver and kube-controller-manager and waits until the cluster is usable. */
export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const logs = join(o.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: o.apiserverPort ?? (await freePort()),
    controllerManager: await freePort(),
  };
  const components: Component[] = [];
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = join(o.dir, 'kubeconfig');
  writeAdminKubeconfig(kubeconfig, server, o.pki);
  const tls: TlsOptions = {
    ca: readFileSync(o.pki.caCert),
    cert: readFileSync(o.pki.adminCert),
    key: readFileSync(o.pki.adminKey),
  };
  try {
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const etcd = startComponent(
      'etcd',
      o.binaries.etcd,
      [
        '--name=modelship',
        `--data-dir=${join(o.dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=modelship=http://127.0.0.1:${ports.etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      join(logs, 'etcd.log'),
    );
    components.push(etcd);
    await waitFor('etcd to be healthy', async () => (await httpGet(`${etcdUrl}/health`)).status === 200, {
      timeoutMs,
      component: etcd,
    });

    const auditLog = join(logs, 'audit.log');
    writeFileSync(join(o.dir, 'audit-policy.yaml'), auditPolicy);
    const network =
      o.network === 'node'
        ? [
            '--bind-address=0.0.0.0',
            '--advertise-address=10.244.0.1',
            '--authorization-mode=Node,RBAC',
            '--kubelet-preferred-address-types=Hostname',
          ]
        : [
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            '--endpoint-reconciler-type=none',
            '--authorization-mode=RBAC',
          ];
    const apiserver = startComponent(
      'kube-apiserver',
      o.binaries.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${ports.apiserver}`,
        ...network,
        `--cert-dir=${join(o.dir, 'apiserver-certs')}`,
        `--tls-cert-file=${o.pki.apiserverCert}`,
        `--tls-private-key-file=${o.pki.apiserverKey}`,
        `--client-ca-file=${o.pki.caCert}`,
        `--service-account-key-file=${o.pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${o.pki.serviceAccountKey}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        '--allow-privileged=true',
        '--profiling=false',
        `--audit-policy-file=${join(o.dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${auditLog}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
      ],
      join(logs, 'kube-apiserver.log'),
    );
    components.push(apiserver);
    await waitFor(
      'kube-apiserver /readyz',
      async () => (await httpGet(`${server}/readyz`, tls)).status === 200,
      { timeoutMs, component: apiserver },
    );

    const kcm = startComponent(
      'kube-controller-manager',
      o.binaries.kubeControllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--cert-dir=${join(o.dir, 'kcm-certs')}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${o.pki.serviceAccountKey}`,
        `--root-ca-file=${o.pki.caCert}`,
        `--cluster-signing-cert-file=${o.pki.caCert}`,
        `--cluster-signing-key-file=${o.pki.caKey}`,
        '--use-service-account-credentials=false',
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        `--cluster-cidr=${clusterCidr}`,
        '--profiling=false',
      ],
      join(logs, 'kube-controller-manager.log'),
    );
    components.push(kcm);
    await waitFor(
      'kube-controller-manager /healthz',
      async () =>
        (await httpGet(`https://127.0.0.1:${ports.controllerManager}/healthz`, { insecure: true })).status ===
        200,
      { timeoutMs, component: kcm },
    );
    // The ServiceAccount admission plugin refuses pods until the controller manager has made `default`.
    await waitFor(
      'the default ServiceAccount',
      async () =>
        (await httpGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status === 200,
      { timeoutMs, component: kcm },
    );
    return { components, kubeconfig, server, ports, auditLog };
  } catch (err) {
    await stopComponents(components);
    throw err;
  }
}

/** Stops components in reverse start order; resolves with those that had to be killed. */
export async function stopComponents(components: Component[]): Promise<Component[]> {
  const killed: Component[] = [];
  for (const c of [...components].reverse()) if (await stopComponent(c)) killed.push(c);
  return killed;
}
