/** Helpers for tests that run against the real control plane started by the integration global setup. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  kubectl as runKubectl,
  waitForCrdsEstablished,
  type KubectlResult,
} from '../../cluster/src/kubectl.js';
import { repoRoot } from '../../cluster/src/versions.js';

export { repoRoot };

export function kubeconfigPath(): string {
  const path = process.env.KUBECONFIG;
  if (!path)
    throw new Error('KUBECONFIG is not set: integration tests run under the integration global setup');
  return path;
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** The test cluster's admin credentials, reaching the API server through a local proxy on `port`. */
export function viaProxy(port: number): k8s.KubeConfig {
  const base = kubeConfig();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: base.users,
    contexts: base.contexts,
    currentContext: base.currentContext,
  });
  return kc;
}

/** The pinned kubectl against the test cluster, as a user would run it. */
export function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return runKubectl(args, { kubeconfig: kubeconfigPath(), input });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Installs the generated CRDs and waits until they are Established. Idempotent. */
export async function installCrds(): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
  await waitForCrdsEstablished(['modeldeployments.modelship.dev', 'modelversions.modelship.dev'], {
    kubeconfig: kubeconfigPath(),
  });
}

/** Namespaces this test file created (each file has its own module registry). */
const createdNamespaces: string[] = [];

/**
 * The Pod Security level test namespaces enforce, from MODELSHIP_TEST_POD_SECURITY (the end-to-end tier sets
 * `restricted`: the API server itself then refuses any pod the operator or a test makes that is not locked down).
 */
export function podSecurityLabels(): Record<string, string> {
  const level = process.env.MODELSHIP_TEST_POD_SECURITY;
  return level
    ? { 'pod-security.kubernetes.io/enforce': level, 'pod-security.kubernetes.io/enforce-version': 'latest' }
    : {};
}

/** A fresh namespace per test file keeps tests independent. */
export async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { ...podSecurityLabels(), ...labels } } } });
  createdNamespaces.push(name);
  return name;
}

/**
 * Deletes the namespaces this file created and waits until they are gone, so that nothing it left in progress
 * (a paused canary judged every second) acts on the files that follow.
 */
export async function deleteCreatedNamespaces(): Promise<void> {
  const names = createdNamespaces.splice(0);
  if (names.length)
    await kubectlOk(['delete', 'namespace', ...names, '--ignore-not-found', '--wait=true', '--timeout=120s']);
}

/** Polls until `check` returns a value other than undefined/false, or fails with the last error. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
