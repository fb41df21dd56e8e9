/**
 * Local cluster for people: `make cluster-up` / `make cluster-down` / `make cluster-status`.
 *
 *   cli.ts up      start (or report the running one) and print the KUBECONFIG export line
 *   cli.ts down    stop it and remove its state; nothing keeps running
 *   cli.ts status  say whether it runs, and where
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRelease, installChart } from './chart-operator.js';
import { launchCluster, stopCluster } from './launcher.js';
import {
  installModelship,
  localOperatorPid,
  startLocalOperator,
  stopLocalOperator,
} from './local-operator.js';
import { unmountAll } from './node/host.js';
import { nodePortsFromEnv } from './node/layout.js';
import { requireRoot } from './node/prereqs.js';
import { isAlive, readState, type ClusterMode } from './state.js';
import { repoRoot } from './versions.js';
import { shellQuote } from '../../scripts/shell-quote.js';

const dir = process.env.MODELSHIP_CLUSTER_DIR ?? join(repoRoot, '.cluster');
// `node` (default): a real node that runs pods (needs root). `controlplane`: the API only, no root needed.
const mode = (process.env.MODELSHIP_CLUSTER_MODE ?? 'node') as ClusterMode;
if (mode !== 'node' && mode !== 'controlplane') {
  console.error(`cluster: MODELSHIP_CLUSTER_MODE must be node or controlplane, not ${String(mode)}`);
  process.exit(2);
}

// `on` (default): cluster-up also installs the CRD and runs the operator in the background, so that
// `kubectl apply -f examples/` is all a person needs. `off`: the cluster alone (for `make run` in a terminal).
// `chart`: the Helm chart installs the CRD and runs the operator in the cluster from its image, as users run it.
const operatorMode = process.env.MODELSHIP_OPERATOR ?? 'on';
if (operatorMode !== 'on' && operatorMode !== 'off' && operatorMode !== 'chart') {
  console.error(`cluster: MODELSHIP_OPERATOR must be on, off or chart, not ${operatorMode}`);
  process.exit(2);
}
if (operatorMode === 'chart' && mode !== 'node') {
  console.error(
    'cluster: MODELSHIP_OPERATOR=chart runs the operator in pods, which needs a node (MODELSHIP_CLUSTER_MODE=node)',
  );
  process.exit(2);
}

function exportLine(kubeconfig: string): string {
  return `export KUBECONFIG=${shellQuote(kubeconfig)}`;
}

async function ensureOperator(kubeconfig: string): Promise<void> {
  if (operatorMode === 'off') {
    console.log('The operator is not running (MODELSHIP_OPERATOR=off): make install, then make run.');
    return;
  }
  if (operatorMode === 'chart') {
    const { name, namespace } = defaultRelease;
    await installChart({ dir, kubeconfig, log: (line) => console.log(line) });
    console.log(
      `The chart is installed: release ${name} in namespace ${namespace}, the operator runs in the cluster ` +
        `(kubectl -n ${namespace} get pods).`,
    );
    return;
  }
  await installModelship(kubeconfig);
  const operator = await startLocalOperator(dir, kubeconfig);
  console.log(
    `CRD installed; the operator runs in the background (pid ${operator.pid}, log ${operator.log}).`,
  );
}

async function up(): Promise<void> {
  if (mode === 'node') requireRoot();
  const existing = readState(dir);
  if (existing && isAlive(existing.supervisorPid)) {
    if (existing.status === 'ready') {
      console.log(
        `The local cluster is already running (${existing.server}, Kubernetes ${existing.kubeVersion}).`,
      );
      await ensureOperator(existing.kubeconfig!);
      console.log(exportLine(existing.kubeconfig!));
      return;
    }
    throw new Error(`a local cluster in ${dir} is ${existing.status}; run 'make cluster-down' first`);
  }
  // A dead supervisor may have left a node's host changes behind: clean them before starting again.
  if (existing) await stopCluster(dir);
  rmSync(dir, { recursive: true, force: true });
  const t0 = Date.now();
  const state = await launchCluster({
    dir,
    mode,
    ports: nodePortsFromEnv(process.env),
  });
  console.log(
    `Local cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: Kubernetes ${state.kubeVersion} at ${state.server}`,
  );
  console.log(`kubectl ${state.kubeVersion}: ${state.kubectl}`);
  console.log(`Logs: ${join(dir, 'logs')}`);
  await ensureOperator(state.kubeconfig!);
  console.log('Use it with:');
  console.log(`  ${exportLine(state.kubeconfig!)}`);
}

async function down(): Promise<void> {
  const operator = await stopLocalOperator(dir);
  if (operator.killed)
    console.log(`Had to kill the operator, ${operator.killed}: it did not stop within 10 s.`);
  if (operator.stopped) console.log('Stopped the operator that make cluster-up started.');
  // Resolves only once every process the cluster started has exited; names any it had to kill.
  const stopped = await stopCluster(dir, { log: (line) => console.log(line) });
  await unmountLeftovers(dir);
  rmSync(dir, { recursive: true, force: true });
  console.log(stopped ? 'Local cluster stopped; nothing left running.' : 'No local cluster was running.');
}

/** Nothing may stay mounted under the state folder before it is removed (rm would walk into a mount). */
async function unmountLeftovers(d: string): Promise<void> {
  const left = await unmountAll([d]);
  if (left.length) throw new Error(`could not unmount ${left.join(', ')}; remove them by hand, then ${d}`);
}

function status(): void {
  const s = readState(dir);
  if (!s || !isAlive(s.supervisorPid)) {
    console.log('No local cluster is running.');
    process.exitCode = 1;
    return;
  }
  console.log(`${s.status}: ${s.server} (Kubernetes ${s.kubeVersion})`);
  for (const c of s.components ?? []) console.log(`  ${c.name.padEnd(24)} pid ${c.pid}  log ${c.log}`);
  const operator = localOperatorPid(dir);
  if (operator)
    console.log(
      `  ${'modelship-operator'.padEnd(24)} pid ${operator}  log ${join(dir, 'logs', 'operator.log')}`,
    );
  if (s.kubeconfig) console.log(exportLine(s.kubeconfig));
}

const commands: Record<string, () => Promise<void> | void> = { up, down, status };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error('usage: cli.ts up|down|status');
  process.exit(2);
}
try {
  await command();
} catch (err) {
  console.error(`cluster: ${(err as Error).message}`);
  process.exit(1);
}
