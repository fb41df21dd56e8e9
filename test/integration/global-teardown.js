import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR;
  if (!dir) return;
  const { stopCluster } = await tsImport('../../cluster/src/launcher.ts', import.meta.url);
  await stopCluster(dir);
}
