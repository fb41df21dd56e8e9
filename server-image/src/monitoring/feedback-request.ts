/**
 * The body of `POST /v2/models/{name}[/versions/{v}]/feedback`, checked: one feedback
 *   {"id": "<request id>", "label": <value>}          (a one-row request)
 *   {"id": "<request id>", "labels": [<value>, ...]}  (one per row of a batched request)
 * or several at once: {"feedback": [<one feedback>, ...]}. Pure; a malformed body is a FeedbackBodyError naming the
 * field. Whether a label has the right type is known only against its prediction (prediction.ts: score).
 */

export interface FeedbackItem {
  id: string;
  labels: readonly unknown[];
  /** How to name the labels in an error: `labels`, `label`, `feedback[3].labels`. */
  field: string;
  /** Sent as one `label`. */
  single: boolean;
}

export interface FeedbackBody {
  items: FeedbackItem[];
  /** The `{"feedback": [...]}` form: answered per item. */
  bulk: boolean;
}

export class FeedbackBodyError extends Error {}

/** Most feedback items in one bulk body (the body size limit bounds it too). */
export const MAX_ITEMS = 10_000;

export function parseFeedbackBody(body: Uint8Array): FeedbackBody {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new FeedbackBodyError(`the body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc))
    throw new FeedbackBodyError(
      'the body must be a JSON object: {"id": ..., "label": ...}, or {"feedback": [...]}',
    );
  if ('feedback' in doc) {
    const list = doc.feedback;
    if (!Array.isArray(list))
      throw new FeedbackBodyError('"feedback" must be a list of {"id", "label" or "labels"}');
    if (list.length === 0) throw new FeedbackBodyError('"feedback" is empty');
    if (list.length > MAX_ITEMS)
      throw new FeedbackBodyError(`"feedback" has ${list.length} items; at most ${MAX_ITEMS} per request`);
    return { bulk: true, items: list.map((item, i) => parseItem(item, `feedback[${i}]`)) };
  }
  return { bulk: false, items: [parseItem(doc, '')] };
}

function parseItem(item: unknown, at: string): FeedbackItem {
  const name = (field: string): string => (at ? `${at}.${field}` : field);
  if (!isObject(item))
    throw new FeedbackBodyError(`${at} must be an object with "id" and "label" or "labels"`);
  const { id } = item;
  if (typeof id !== 'string' || id === '')
    throw new FeedbackBodyError(
      `${name('id')} must be the request id (a non-empty string) of the prediction`,
    );
  const hasLabel = 'label' in item;
  const hasLabels = 'labels' in item;
  if (hasLabel === hasLabels)
    throw new FeedbackBodyError(
      `${at || 'the body'} must have exactly one of "label" (one row) or "labels" (one per row)`,
    );
  if (hasLabel) return { id, labels: [item.label], field: name('label'), single: true };
  if (!Array.isArray(item.labels))
    throw new FeedbackBodyError(`${name('labels')} must be a list, one value per row`);
  return { id, labels: item.labels, field: name('labels'), single: false };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
