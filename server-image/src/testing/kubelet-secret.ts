/**
 * A Secret volume updated the way the kubelet's AtomicWriter does it (excluded from the build): the new files go
 * into a fresh hidden directory, a `..data_tmp` symlink to it is renamed onto `..data` (the one atomic step), the
 * visible names are symlinks through `..data`, names no longer in the Secret are removed, then the old directory.
 */
import { mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let generation = 0;

export async function writeSecret(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const previous = await readlink(join(dir, '..data')).catch(() => undefined);
  const target = `..${Date.now()}_${process.pid}_${++generation}`;
  await mkdir(join(dir, target));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, target, name), content);
  await rm(join(dir, '..data_tmp'), { force: true });
  await symlink(target, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  const visible = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  for (const name of Object.keys(files))
    if (!visible.includes(name)) await symlink(join('..data', name), join(dir, name));
  for (const name of visible) if (!(name in files)) await rm(join(dir, name), { force: true });
  if (previous) await rm(join(dir, previous), { recursive: true, force: true });
}
