/**
 * Starts a local cluster with a real node for the end-to-end tier: the control plane plus kube-scheduler,
 * kubelet, kube-proxy, containerd and CoreDNS, with the project's images built from their Dockerfiles and
 * imported (no registry). Needs root; fails with the reason otherwise (end-to-end tests never skip). The
 * supervisor tears everything down, host changes included, when this Jest process exits, however it exits.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { launchCluster } = await tsImport('../../cluster/src/launcher.ts', import.meta.url);
  const { snapshotHost } = await tsImport('../../cluster/src/node/snapshot.ts', import.meta.url);
  // What the host looks like before: the teardown proves it is the same afterwards.
  process.env.MODELSHIP_E2E_HOST_BEFORE = JSON.stringify(await snapshotHost());
  const started = Date.now();
  // Every host port moved off its default, so the tier proves they are all configurable (kubectl logs, exec and
  // port-forward go through the kubelet's port; readiness waits on kube-proxy's health port).
  const ports = {
    apiserver: 16443,
    kubelet: 20250,
    kubeletHealthz: 20248,
    proxyHealthz: 20256,
    proxyMetrics: 20249,
  };
  const state = await launchCluster({ mode: 'node', ownerPid: process.pid, ephemeral: true, ports });
  process.env.KUBECONFIG = state.kubeconfig;
  process.env.MODELSHIP_TEST_CLUSTER_DIR = state.dir;
  process.env.MODELSHIP_TEST_AUDIT_LOG = state.auditLog;
  // Model files for hostPath volumes: readable by the serving pods' non-root user.
  const models = join(state.dir, 'models');
  mkdirSync(models, { recursive: true });
  chmodSync(state.dir, 0o755);
  chmodSync(models, 0o755);
  process.env.MODELSHIP_E2E_MODELS = models;
  // Every test namespace enforces the Pod Security `restricted` profile (test/support/cluster.ts createNamespace).
  process.env.MODELSHIP_TEST_POD_SECURITY = 'restricted';
  process.stderr.write(
    `\ne2e: cluster with a node ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${state.server})\n`,
  );
}
