import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One named build input: a pinned version, a recipe constant, or a file's bytes. */
export interface HashInput {
  name: string;
  value: string | Uint8Array;
}

/** Hex digits kept from the sha256: 64 bits name a cache folder without any realistic collision. */
const HASH_CHARS = 16;

/**
 * The input hash of an image: sha256 over its id and every input, sorted by name so the order in which a recipe
 * lists them does not matter. Names and values are length-prefixed, so moving bytes from one input to the next
 * (or renaming a file) changes the hash.
 */
export function hashInputs(id: string, inputs: readonly HashInput[]): string {
  const names = new Set<string>();
  for (const input of inputs) {
    if (names.has(input.name)) throw new Error(`image ${id}: build input '${input.name}' is listed twice`);
    names.add(input.name);
  }
  const h = createHash('sha256');
  const field = (bytes: string | Uint8Array) => {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    h.update(`${buf.byteLength}:`);
    h.update(buf);
  };
  field(id);
  for (const input of [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    field(input.name);
    field(input.value);
  }
  return h.digest('hex').slice(0, HASH_CHARS);
}

/** Marks a file that does not exist, so deleting an input file changes the hash too. */
const MISSING = '\u0000missing';

/** The contents of files (paths relative to `root`) as inputs named `file:<path>`. */
export async function fileInputs(root: string, relPaths: readonly string[]): Promise<HashInput[]> {
  return Promise.all(
    relPaths.map(async (rel) => {
      try {
        return { name: `file:${rel}`, value: await readFile(join(root, rel)) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { name: `file:${rel}`, value: MISSING };
        throw err;
      }
    }),
  );
}

/** Pinned versions as inputs named `version:<KEY>`; a missing key is an error that names versions.env. */
export function versionInputs(versions: Record<string, string>, keys: readonly string[]): HashInput[] {
  return keys.map((key) => ({ name: `version:${key}`, value: requireVersion(versions, key) }));
}

/** A pinned version from cluster/versions.env, or an error that says where to add it. */
export function requireVersion(versions: Record<string, string>, key: string): string {
  const value = versions[key];
  if (!value)
    throw new Error(`cluster/versions.env has no ${key}=...; the image build needs it pinned there`);
  return value;
}
