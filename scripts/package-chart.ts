/**
 * `make chart`: lints charts/modelship with `helm lint --strict` and packages it as dist/charts/modelship-<version>.tgz
 * (Helm built once from its Go module: cluster/src/helm.ts). Prints the archive's path.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { helmOk } from '../cluster/src/helm.js';
import { chartPath } from '../cluster/src/chart-operator.js';
import { repoRoot } from '../cluster/src/versions.js';

const out = join(repoRoot, 'dist', 'charts');
mkdirSync(out, { recursive: true });
try {
  process.stdout.write(await helmOk(['lint', '--strict', chartPath]));
  const packaged = await helmOk(['package', chartPath, '--destination', out]);
  process.stdout.write(packaged);
} catch (err) {
  console.error(`chart: ${(err as Error).message}`);
  process.exit(1);
}
