import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the supervisor reports about a running local cluster, in `<dir>/state.json`. */
export interface ClusterState {
  status: 'starting' | 'ready' | 'failed' | 'stopping';
  supervisorPid: number;
  dir: string;
  mode: ClusterMode;
  kubeconfig?: string;
  server?: string;
  /** The apiserver's audit log of write requests (JSON lines). */
  auditLog?: string;
  kubectl?: string;
  kubeVersion?: string;
  /** Milliseconds from supervisor start to a usable cluster. */
  startupMs?: number;
  error?: string;
  components?: { name: string; pid: number | undefined; log: string }[];
  /** Written on the way out: what stopping took beyond the usual order (processes killed, pods the CRI left). */
  notes?: string[];
  /** The folder is removed when the cluster stops. */
  ephemeral?: boolean;
}

export type ClusterMode = 'controlplane' | 'node';

export const stateFile = (dir: string) => join(dir, 'state.json');
/** Written by stopCluster before it stops the supervisor: it then removes an ephemeral folder itself. */
export const stopRequestFile = (dir: string) => join(dir, 'stop-requested');

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** Atomic: readers never see a half-written file. */
export function writeState(state: ClusterState): void {
  const tmp = `${stateFile(state.dir)}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFile(state.dir));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
