/**
 * Stops the end-to-end cluster and fails the run if the host is not exactly as it was before it started:
 * no process, mount, network link, route, iptables rule or chain, network namespace or changed sysctl left.
 */
import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR;
  if (!dir) return;
  const { stopCluster } = await tsImport('../../cluster/src/launcher.ts', import.meta.url);
  const { snapshotHost, compareSnapshots, clusterProcessesLeft } = await tsImport(
    '../../cluster/src/node/snapshot.ts',
    import.meta.url,
  );
  await stopCluster(dir);
  const before = JSON.parse(process.env.MODELSHIP_E2E_HOST_BEFORE ?? 'null');
  if (!before) return;
  const diffs = compareSnapshots(before, await snapshotHost());
  const pids = clusterProcessesLeft(dir);
  if (pids.length) diffs.push(`processes left: ${pids.join(', ')}`);
  if (diffs.length) throw new Error(`the local node left the host changed:\n  ${diffs.join('\n  ')}`);
  process.stderr.write(
    '\ne2e: cluster stopped; the host is as it was before (processes, mounts, links, routes, iptables, ipsets, netns, sysctls)\n',
  );
}
