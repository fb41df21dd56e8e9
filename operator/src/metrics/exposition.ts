/**
 * Reads Prometheus' text exposition format (what every /metrics endpoint of this project answers) into samples.
 * Pure. Only what the analysis needs: counters, gauges and histogram series with their labels; HELP, TYPE and
 * comments are skipped, timestamps ignored.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses a whole exposition; malformed lines are skipped (one bad line must not hide every other metric). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name: string;
  let labels: Record<string, string> = {};
  let rest: string;
  if (brace >= 0 && (space < 0 || brace < space)) {
    name = line.slice(0, brace);
    const parsed = parseLabels(line, brace + 1);
    if (!parsed) return undefined;
    labels = parsed.labels;
    rest = line.slice(parsed.end + 1).trim();
  } else {
    if (space < 0) return undefined;
    name = line.slice(0, space);
    rest = line.slice(space + 1).trim();
  }
  const valueText = rest.split(/\s+/)[0] ?? '';
  const value = parseValue(valueText);
  if (value === undefined || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) return undefined;
  return { name, labels, value };
}

/** Labels from just after `{` to the matching `}`; values may contain escaped quotes, commas and braces. */
function parseLabels(
  line: string,
  start: number,
): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i };
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') return undefined;
    const key = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length; j++) {
      const c = line[j];
      if (c === '\\') {
        const next = line[++j];
        value += next === 'n' ? '\n' : (next ?? '');
      } else if (c === '"') break;
      else value += c;
    }
    if (j >= line.length) return undefined;
    labels[key] = value;
    i = j + 1;
  }
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return text !== '' && !Number.isNaN(n) ? n : undefined;
}
