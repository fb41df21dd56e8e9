/**
 * The Argo CD tier's set-up: Argo CD, Redis and Helm are built or fetched first (once, into ~/.cache/modelship),
 * so that a cold build does not keep a node idle; then the end-to-end tier's cluster with a real node starts, and
 * the end-to-end tier's teardown stops it and checks the host is as it was.
 */
import { tsImport } from 'tsx/esm/api';
import e2eGlobalSetup from '../e2e/global-setup.js';

export default async function globalSetup() {
  const { ensureArgocd, ensureRedis } = await tsImport('../support/argocd.ts', import.meta.url);
  const { ensureHelm } = await tsImport('../../cluster/src/helm.ts', import.meta.url);
  await ensureRedis();
  await ensureHelm();
  await ensureArgocd();
  await e2eGlobalSetup();
}
