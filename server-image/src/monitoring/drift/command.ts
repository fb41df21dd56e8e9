/**
 * `modelship-server baseline`: baseline.json from a sample file, for models trained elsewhere (the example trainer
 * writes its own). Reads the sample (sample.ts), computes the bins (compute.ts), writes the file (or stdout for
 * `--out -`) and says on stderr what it wrote. Exit 0 when written, 1 when the sample cannot give a baseline.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { BaselineCommandConfig } from '../../config.js';
import { computeBaseline, SampleError } from './compute.js';
import { parseSample } from './sample.js';

export async function runBaselineCommand(config: BaselineCommandConfig): Promise<void> {
  try {
    const text = await readFile(config.sample, 'utf8');
    const sample = parseSample(text, config.sample, config.input);
    const doc = computeBaseline(sample, config);
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    if (config.out === '-') process.stdout.write(json);
    else await writeFile(config.out, json);
    const rows = sample.columns[0]!.length;
    process.stderr.write(
      `baseline: ${doc.features.length} feature(s) of input "${config.input}" from ${rows} row(s) of ${config.sample}` +
        `${config.out === '-' ? '' : ` written to ${config.out}`}\n`,
    );
  } catch (err) {
    const known =
      err instanceof SampleError || (err as Error).name === 'BaselineError' || 'code' in (err as object);
    process.stderr.write(
      `baseline: ${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`,
    );
    process.exitCode = 1;
  }
}
