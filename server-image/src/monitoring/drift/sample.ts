/**
 * The sample file of `modelship-server baseline`, parsed into columns (compute.ts). Three forms:
 *
 * - CSV (`.csv`): one row per line, comma-separated, double quotes around fields that hold commas or quotes
 *   ("" inside is one quote). The first line is a header (the feature names) when none of its cells is a number.
 *   Cells that are numbers are numbers; an empty cell is missing (not counted); anything else is a string.
 * - JSON, a V2 inference request (`{"inputs": [...]}`, e.g. the trainer's holdout.json): the input named --input;
 *   shape [N, F] gives F features (its last dimension is the feature axis), shape [N] one feature. FP32 values are
 *   rounded to float32 first, since that is what the server will see.
 * - JSON, an array of rows: arrays (`[[5.1, 3.5], ...]`), objects (`[{"a": 5.1, "b": "x"}, ...]`: the first row's
 *   keys are the features) or scalars (`[5.1, 4.9, ...]`: one feature).
 */
import type { Sample } from './compute.js';
import { SampleError } from './compute.js';

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

export function parseSample(text: string, fileName: string, input: string): Sample {
  if (/\.csv$/i.test(fileName)) return parseCsv(text);
  if (/\.json$/i.test(fileName)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new SampleError(`${fileName} is not valid JSON: ${(err as Error).message}`);
    }
    return parseJsonSample(doc, input);
  }
  throw new SampleError(`${fileName}: the sample must be a .csv or a .json file`);
}

export function parseCsv(text: string): Sample {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new SampleError('the CSV sample is empty');
  let rows = lines.map(csvFields);
  let names: string[] | undefined;
  if (!rows[0]!.some((c) => NUMBER.test(c))) {
    names = rows[0]!.map((c) => c.trim());
    rows = rows.slice(1);
  }
  const width = names?.length ?? rows[0]?.length ?? 0;
  if (rows.length === 0) throw new SampleError('the CSV sample has a header and no rows');
  const columns: (number | string)[][] = Array.from({ length: width }, () => []);
  rows.forEach((row, i) => {
    if (row.length !== width)
      throw new SampleError(
        `CSV line ${i + 1 + (names ? 1 : 0)} has ${row.length} fields, expected ${width}`,
      );
    row.forEach((c, j) => columns[j]!.push(cell(c)));
  });
  return { columns, ...(names ? { names } : {}) };
}

function cell(c: string): number | string {
  if (c.trim() === '') return NaN;
  return NUMBER.test(c) ? Number(c) : c.trim();
}

/** One CSV line's fields (RFC 4180 quoting, no line breaks inside quotes). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new SampleError(`unterminated quote in CSV line: ${line.slice(0, 80)}`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      const comma = line.indexOf(',', i);
      i = comma === -1 ? line.length : comma;
    } else {
      const comma = line.indexOf(',', i);
      field = line.slice(i, comma === -1 ? line.length : comma);
      i = comma === -1 ? line.length : comma;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

export function parseJsonSample(doc: unknown, input: string): Sample {
  if (Array.isArray(doc)) return parseRows(doc);
  if (typeof doc === 'object' && doc !== null && Array.isArray((doc as { inputs?: unknown }).inputs))
    return parseV2Input((doc as { inputs: unknown[] }).inputs, input);
  throw new SampleError('a JSON sample must be {"inputs": [...]} (a V2 request) or an array of rows');
}

function parseV2Input(inputs: unknown[], name: string): Sample {
  const found = inputs.find(
    (i) => typeof i === 'object' && i !== null && (i as { name?: unknown }).name === name,
  ) as { shape?: unknown; datatype?: unknown; data?: unknown } | undefined;
  if (!found) {
    const names = inputs.map((i) => (i as { name?: unknown })?.name).filter((n) => typeof n === 'string');
    throw new SampleError(`the sample has no input named "${name}" (it has ${names.join(', ') || 'none'})`);
  }
  const shape = found.shape;
  if (
    !Array.isArray(shape) ||
    shape.length < 1 ||
    shape.length > 2 ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  )
    throw new SampleError(`input "${name}": shape must be [N] or [N, F], got ${JSON.stringify(shape)}`);
  const data = Array.isArray(found.data) ? (found.data.flat(Infinity) as unknown[]) : undefined;
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!data || data.length !== count)
    throw new SampleError(`input "${name}": data must hold ${count} values (shape ${JSON.stringify(shape)})`);
  const fp32 = found.datatype === 'FP32';
  const values = data.map((v, i) => {
    if (typeof v === 'number') return fp32 ? Math.fround(v) : v;
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new SampleError(`input "${name}": data[${i}] is ${JSON.stringify(v)}, not a number or a string`);
  });
  if (shape.length === 1) return { columns: [values], oneFeature: true };
  const width = shape[1] as number;
  const columns = Array.from({ length: width }, (_, j) => values.filter((_, i) => i % width === j));
  return { columns };
}

function parseRows(rows: unknown[]): Sample {
  if (rows.length === 0) throw new SampleError('the sample has no rows');
  const scalar = (v: unknown, at: string): number | string => {
    if (typeof v === 'number' || typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === null) return NaN;
    throw new SampleError(`${at} is ${JSON.stringify(v)}, not a number, a string or null`);
  };
  const first = rows[0];
  if (Array.isArray(first)) {
    const width = first.length;
    const columns: (number | string)[][] = Array.from({ length: width }, () => []);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width)
        throw new SampleError(`row ${i + 1} must be an array of ${width} values like the first`);
      row.forEach((v, j) => columns[j]!.push(scalar(v, `row ${i + 1}, column ${j + 1}`)));
    });
    return { columns };
  }
  if (typeof first === 'object' && first !== null) {
    const names = Object.keys(first);
    const columns: (number | string)[][] = names.map(() => []);
    rows.forEach((row, i) => {
      if (typeof row !== 'object' || row === null || Array.isArray(row))
        throw new SampleError(`row ${i + 1} must be an object like the first`);
      names.forEach((n, j) =>
        columns[j]!.push(scalar((row as Record<string, unknown>)[n] ?? null, `row ${i + 1}, "${n}"`)),
      );
    });
    return { columns, names };
  }
  return { columns: [rows.map((v, i) => scalar(v, `row ${i + 1}`))], oneFeature: true };
}
