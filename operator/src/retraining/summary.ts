/**
 * The training job's summary: the small JSON document a trainer writes to /dev/termination-log as its last act,
 * which Kubernetes hands back in the container's terminated state (`message`). It is the job's whole report to the
 * operator (no callback API, no credentials), so it is checked field by field here and a broken one is refused
 * with a reason that names the field: the ModelVersion is then `Rejected` with that reason, never rolled out.
 *
 * The contract:
 *   {"model":"model.onnx","sha256":"<64 hex>","metrics":{"accuracy":0.97},"metricsFile":"metrics.json",
 *    "data":{"ref":"sklearn:breast_cancer@2026-12-02","rows":455},"holdout":"holdout.json","version":"v7"}
 * `model`, `sha256` and `metrics` are required. Paths are relative to the run's output folder.
 *
 * Decisions beyond the contract:
 * - sha256 in upper or mixed case is accepted and lowercased: it is the same digest, and `sha256sum` and most
 *   libraries differ only in case. A `sha256:` prefix is refused: the field holds the digest, nothing else.
 * - `./` segments in paths are dropped (`./model.onnx` is `model.onnx`); empty segments (`a//b`, a trailing `/`)
 *   are refused, since they point at a folder or betray a path built from an empty variable.
 * - An empty `metrics` object is accepted with a warning: the job did run, and the quality gate decides whether a
 *   version without metrics may pass (a policy naming any metric fails it).
 * - `data.ref` is required when `data` is given (a data block without a reference records no lineage);
 *   `data.rows` is optional.
 * - A metric named `__proto__` is refused although the name pattern allows it: code that stores metrics with a
 *   plain assignment would silently drop it.
 * - Unknown keys (top level and in `data`) are ignored and reported as warnings, so a newer trainer's extra fields
 *   do not fail an older operator.
 * Pure: no I/O; table-tested.
 */

/** The byte limit Kubernetes puts on one container's termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;
/** At most this many metrics: they go into the ModelVersion's status, which must stay small. */
export const MAX_METRICS = 32;

const SHA256 = /^[0-9a-fA-F]{64}$/;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KNOWN_KEYS = ['model', 'sha256', 'metrics', 'metricsFile', 'data', 'holdout', 'version'];
const KNOWN_DATA_KEYS = ['ref', 'rows'];

/** Lineage of the training data: a reference the trainer chose (dataset name, snapshot, query) and a row count. */
export interface DataRef {
  ref: string;
  rows?: number;
}

/** A summary that passed every check; paths normalised, sha256 lowercased. */
export interface TrainingSummary {
  /** The ONNX file, relative to the run's output folder. */
  model: string;
  /** Lowercase hex SHA-256 of the model file, as the trainer computed it. */
  sha256: string;
  metrics: Record<string, number>;
  metricsFile?: string;
  data?: DataRef;
  /** A holdout set the validation job may score, relative to the output folder. */
  holdout?: string;
  /** The trainer's own label for this version. */
  version?: string;
}

export type SummaryResult =
  { ok: true; summary: TrainingSummary; warnings: string[] } | { ok: false; reason: string };

/** Parse and check a training job's termination message. */
export function parseSummary(message: string): SummaryResult {
  const text = message.trim();
  if (text === '')
    return fail('termination message is empty: the job wrote no summary to /dev/termination-log');
  const bytes = new TextEncoder().encode(message).length;
  if (bytes > TERMINATION_MESSAGE_LIMIT)
    return fail(
      `termination message is ${bytes} bytes, more than the ${TERMINATION_MESSAGE_LIMIT} Kubernetes keeps: it cannot be a complete summary`,
    );

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // An object that stops mid-way was most likely cut off by the kubelet (4096 bytes, less in pods with many
    // containers), not mis-written: say so, it is the likelier fix.
    const cut = text.startsWith('{') && !text.endsWith('}') ? `; it looks cut off after ${bytes} bytes` : '';
    return fail(`not JSON: ${(e as Error).message}${cut} (the message begins ${quote(text)})`);
  }
  if (!isObject(doc)) return fail(`the summary must be a JSON object, got ${kind(doc)}`);

  const warnings = unknownKeys(doc, KNOWN_KEYS, '');

  const model = path(doc, 'model', true);
  if (!model.ok) return model;
  const sha256 = digest(doc.sha256);
  if (!sha256.ok) return sha256;
  const metrics = metricsOf(doc.metrics);
  if (!metrics.ok) return metrics;
  if (Object.keys(metrics.value).length === 0)
    warnings.push('metrics is empty: the quality gate has no number to check');
  const metricsFile = path(doc, 'metricsFile', false);
  if (!metricsFile.ok) return metricsFile;
  const holdout = path(doc, 'holdout', false);
  if (!holdout.ok) return holdout;
  const data = dataOf(doc.data, warnings);
  if (!data.ok) return data;
  const version = versionOf(doc.version);
  if (!version.ok) return version;

  const summary: TrainingSummary = { model: model.value!, sha256: sha256.value, metrics: metrics.value };
  if (metricsFile.value !== undefined) summary.metricsFile = metricsFile.value;
  if (data.value !== undefined) summary.data = data.value;
  if (holdout.value !== undefined) summary.holdout = holdout.value;
  if (version.value !== undefined) summary.version = version.value;
  return { ok: true, summary, warnings };
}

/** Why a relative path is unusable, or undefined when it is fine. Exported for the reconciler's own paths. */
export function relativePathProblem(field: string, p: string): string | undefined {
  if (p === '') return `${field} path is empty`;
  if (p.includes('\\')) return `${field} path ${quote(p)} contains a backslash: use '/' between folders`;
  // Control characters (NUL above all) have no place in a file name and confuse every tool that prints one.
  if (/\p{Cc}/u.test(p)) return `${field} path ${quote(p)} contains a control character`;
  if (p.includes('://'))
    return `${field} path ${quote(p)} is a URI: it must be a path relative to the run's output folder`;
  if (p.startsWith('/') || /^[A-Za-z]:\//.test(p))
    return `${field} path ${quote(p)} is absolute: it must be relative to the run's output folder`;
  const segments = p.split('/');
  if (segments.includes('..')) return `${field} path ${quote(p)} leaves the output folder`;
  if (segments.includes(''))
    return `${field} path ${quote(p)} has an empty segment (a '//' or a trailing '/')`;
  if (segments.every((s) => s === '.'))
    return `${field} path ${quote(p)} names the output folder, not a file`;
  return undefined;
}

type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function path(doc: Record<string, unknown>, field: string, required: boolean): Checked<string | undefined> {
  const v = doc[field];
  if (v === undefined)
    return required ? fail(`${field} is missing: the path of the ${what(field)}`) : ok(undefined);
  if (typeof v !== 'string')
    return fail(`${field} must be a string (a path relative to the output folder), got ${kind(v)}`);
  const problem = relativePathProblem(field, v);
  if (problem) return fail(problem);
  return ok(
    v
      .split('/')
      .filter((s) => s !== '.')
      .join('/'),
  );
}

const what = (field: string): string => (field === 'model' ? 'ONNX file in the output folder' : field);

function digest(v: unknown): Checked<string> {
  if (v === undefined) return fail('sha256 is missing: the SHA-256 of the model file, 64 hex characters');
  if (typeof v !== 'string') return fail(`sha256 must be a string of 64 hex characters, got ${kind(v)}`);
  if (!SHA256.test(v))
    return fail(`sha256 must be 64 hex characters, got ${quote(v)} (${[...v].length} characters)`);
  return ok(v.toLowerCase());
}

function metricsOf(v: unknown): Checked<Record<string, number>> {
  if (v === undefined) return fail('metrics is missing: an object of metric names and numbers');
  if (!isObject(v)) return fail(`metrics must be an object of metric names and numbers, got ${kind(v)}`);
  const entries = Object.entries(v);
  if (entries.length > MAX_METRICS)
    return fail(`metrics has ${entries.length} entries, more than the ${MAX_METRICS} allowed`);
  for (const [name, value] of entries) {
    if (!METRIC_NAME.test(name) || name === '__proto__')
      return fail(
        `metric name ${quote(name)} is not allowed: a letter or '_' first, then letters, digits, '_', '.' or '-'`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value))
      return fail(`metrics.${name} is not a finite number, got ${kind(value)}`);
  }
  // Object.fromEntries defines own properties, so no name can reach the prototype.
  return ok(Object.fromEntries(entries) as Record<string, number>);
}

function dataOf(v: unknown, warnings: string[]): Checked<DataRef | undefined> {
  if (v === undefined) return ok(undefined);
  if (!isObject(v)) return fail(`data must be an object with ref and rows, got ${kind(v)}`);
  warnings.push(...unknownKeys(v, KNOWN_DATA_KEYS, 'data.'));
  if (v.ref === undefined) return fail('data.ref is missing: the reference of the training data');
  if (typeof v.ref !== 'string') return fail(`data.ref must be a string, got ${kind(v.ref)}`);
  if (v.ref.trim() === '') return fail('data.ref is empty: the reference of the training data');
  const data: DataRef = { ref: v.ref };
  if (v.rows !== undefined) {
    if (typeof v.rows !== 'number' || !Number.isSafeInteger(v.rows) || v.rows < 0)
      return fail(`data.rows must be a non-negative integer, got ${kind(v.rows)}`);
    data.rows = v.rows;
  }
  return ok(data);
}

function versionOf(v: unknown): Checked<string | undefined> {
  if (v === undefined) return ok(undefined);
  if (typeof v !== 'string') return fail(`version must be a string, got ${kind(v)}`);
  if (!VERSION_LABEL.test(v))
    return fail(
      `version ${quote(v)} is not a valid label: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  return ok(v);
}

function unknownKeys(o: Record<string, unknown>, known: string[], prefix: string): string[] {
  return Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => `unknown field ${quote(prefix + k)} ignored`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a JSON value is, with the value itself when short: for messages. */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${quote(v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** A string quoted for a message, shortened: a job's nonsense must not flood the ModelVersion's status. */
function quote(s: string, max = 60): string {
  const chars = [...s];
  const shown = chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
  // JSON escapes show control characters and backslashes; double quotes need none inside single ones.
  return `'${JSON.stringify(shown).slice(1, -1).replace(/\\"/g, '"')}'`;
}

function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}
function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
