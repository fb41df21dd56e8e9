/**
 * Builds (or finds in the cache) the local container images and prints a table:
 *   tsx cluster/src/images/cli.ts [ids...]        all images when none are named
 * Progress goes to stderr; the table goes to stdout; `--json` prints the BuiltImage list instead.
 */
import { Command, Option } from 'commander';
import { ensureImages, IMAGE_IDS, type BuiltImage, type ImageId } from './index.js';

const program = new Command('images')
  .description(
    'Build the local container images (pause, node-base, server, coredns, fileserver, s3, operator, trainer)',
  )
  .argument('[ids...]', `images to ensure: ${IMAGE_IDS.join(', ')} (default: all)`)
  .option('--cache-dir <dir>', 'cache root (default: $MODELSHIP_CACHE or ~/.cache/modelship)')
  .option('--repo-root <dir>', 'repository to build the server image from (default: this checkout)')
  .addOption(new Option('--json', 'print the images as JSON'))
  .action(async (ids: string[], opts: { cacheDir?: string; repoRoot?: string; json?: boolean }) => {
    const unknown = ids.filter((id) => !(IMAGE_IDS as readonly string[]).includes(id));
    if (unknown.length > 0)
      program.error(`unknown image(s): ${unknown.join(', ')}; known: ${IMAGE_IDS.join(', ')}`);
    const wanted = (ids.length > 0 ? ids : [...IMAGE_IDS]) as ImageId[];
    const images = await ensureImages(wanted, { cacheDir: opts.cacheDir, repoRoot: opts.repoRoot });
    process.stdout.write(opts.json ? `${JSON.stringify(images, null, 2)}\n` : table(images));
  });

function table(images: BuiltImage[]): string {
  const rows = [
    ['image', 'ref', 'state', 'build s', 'MiB', 'archive'],
    ...images.map((i) => [
      i.id,
      i.ref,
      i.cached ? 'cached' : 'built',
      (i.buildMs / 1000).toFixed(1),
      (i.sizeBytes / 2 ** 20).toFixed(1),
      i.archive,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
