/**
 * Starts one real control plane (etcd, kube-apiserver, kube-controller-manager) for the integration
 * suite. The supervisor tears it down when this Jest process exits, however it exits, so an interrupted
 * run leaves nothing behind. If the binaries cannot be built, the whole run fails here with the reason:
 * integration tests never skip.
 *
 * Plain JavaScript because Jest loads global setup outside its module system; tsx loads the TypeScript.
 */
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { launchCluster } = await tsImport('../../cluster/src/launcher.ts', import.meta.url);
  const state = await launchCluster({ ownerPid: process.pid, ephemeral: true });
  process.env.KUBECONFIG = state.kubeconfig;
  process.env.MODELSHIP_TEST_CLUSTER_DIR = state.dir;
  process.env.MODELSHIP_TEST_AUDIT_LOG = state.auditLog;
  process.stderr.write(
    `\nintegration: control plane ${state.kubeVersion} ready in ${state.startupMs} ms at ${state.server}\n`,
  );
}
