/**
 * Writes a named test model to a path: `tsx scripts/make-model.ts iris /tmp/iris.onnx`.
 * The models come from test/fixtures/onnx/models.ts (built in code, no downloads); `--list` names them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NAMED_MODELS } from '../test/fixtures/onnx/models.js';

const [name, path] = process.argv.slice(2);
if (name === '--list' || !name || !path) {
  console.error(
    `usage: tsx scripts/make-model.ts <name> <path.onnx>\nmodels: ${Object.keys(NAMED_MODELS).join(', ')}`,
  );
  process.exit(name === '--list' ? 0 : 2);
}
const build = NAMED_MODELS[name];
if (!build) {
  console.error(`unknown model '${name}'; known: ${Object.keys(NAMED_MODELS).join(', ')}`);
  process.exit(2);
}
mkdirSync(dirname(path), { recursive: true });
const bytes = build();
writeFileSync(path, bytes);
console.log(`wrote ${name} (${bytes.byteLength} bytes) to ${path}`);
