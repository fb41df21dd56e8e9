/**
 * The operator as users run it: the Helm chart (charts/modelship) installed onto the local node, the operator image
 * built from operator/Dockerfile and imported into the node (there is no registry). `MODELSHIP_OPERATOR=chart
 * make cluster-up` uses it; so does the end-to-end tier's Helm test, with its own release and values.
 */
import { join } from 'node:path';
import { helmOk } from './helm.js';
import { importImages } from './node/images.js';
import { repoRoot } from './versions.js';

export const chartPath = join(repoRoot, 'charts/modelship');
export const defaultRelease = { name: 'modelship', namespace: 'modelship-system' };

export interface ChartInstall {
  /** The cluster's state folder (its node's containerd is there). */
  dir: string;
  kubeconfig: string;
  release?: string;
  namespace?: string;
  /** More `helm` arguments: --set, -f. */
  values?: string[];
  log?: (line: string) => void;
}

/** `helm upgrade --install --wait`: resolves once the operator pods are Ready; returns Helm's output (NOTES). */
export async function installChart(o: ChartInstall): Promise<string> {
  await importImages(o.dir, ['operator'], o.log);
  return helmOk(
    [
      'upgrade',
      '--install',
      o.release ?? defaultRelease.name,
      chartPath,
      '--namespace',
      o.namespace ?? defaultRelease.namespace,
      '--create-namespace',
      '--wait',
      '--timeout',
      '5m',
      ...(o.values ?? []),
    ],
    { kubeconfig: o.kubeconfig },
  );
}
