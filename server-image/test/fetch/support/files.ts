/** Temporary directories and test "models" (any non-empty bytes: ONNX validity is the server's business). */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestModel {
  bytes: Buffer;
  sha256: string;
}

export function makeModel(size = 64 * 1024): TestModel {
  const bytes = randomBytes(size);
  return { bytes, sha256: sha256(bytes) };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function makeTempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `modelship-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The names in a directory, hidden temporary files included; [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
