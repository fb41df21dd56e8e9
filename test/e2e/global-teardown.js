/**
 * Stops the end-to-end cluster and fails the run if the host is not exactly as it was before it started:
 * no process, mount, network link, route, iptables rule or chain, network namespace or changed sysctl left.
 */
import { setTimeout } from 'node:timers';
import { tsImport } from 'tsx/esm/api';

/** How long Jest may take to exit on its own once the cluster is down, before the run is failed. */
const exitGraceMs = 60_000;

export default async function globalTeardown() {
  try {
    await stopAndCompare();
  } finally {
    // Tests run in this process (--runInBand): a socket or loop a test left open keeps it alive after the last test,
    // and Jest then waits forever (only saying so). Fail the run instead of letting it hang until CI's own limit.
    // The timer is unref'd, so it never keeps a clean run waiting.
    setTimeout(() => {
      process.stderr.write(
        `\ne2e: Jest was still running ${exitGraceMs / 1000} s after the last test: a test left a socket, timer or ` +
          'loop open (find it with --detectOpenHandles); failing the run\n',
      );
      process.exit(1);
    }, exitGraceMs).unref();
  }
}

async function stopAndCompare() {
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
