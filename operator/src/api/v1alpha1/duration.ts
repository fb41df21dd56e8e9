/**
 * Durations as the spec writes them ("30s", "1m30s", "500ms", "2h"), the way Kubernetes and Go write them.
 * One pattern for the schema, one parser for the operator. Pure.
 */

/** What the schema accepts: one or more number-and-unit pairs, whole numbers, units h, m, s, ms. */
export const durationPattern = '^([0-9]{1,6}(ms|s|m|h))+$';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration string; throws on anything the schema would refuse. */
export function parseDuration(text: string): number {
  if (!new RegExp(durationPattern).test(text)) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(n) * unitMs[unit!]!;
  return total;
}

/** A duration in the shortest spec form: 90000 → "1m30s", 500 → "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${Math.round(ms)}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
