/**
 * Ground truth for a prediction another replica made. Predictions are kept by the pod that answered, but feedback
 * posted through a Service reaches any pod; when the id is not kept here, the feedback is forwarded to the peers
 * (every serving pod of the ModelDeployment: the operator names a headless Service whose name resolves to all of
 * them) and the first that joins it answers. A forwarded request is marked, is never forwarded again, and its
 * misses are not counted: only the pod the client reached counts a prediction nobody kept.
 * The client's credentials go along (the peer checks them as the first pod did), and with TLS the peer is reached
 * over https (peer-transport.ts). Not the inference path: one request per peer, bounded by a timeout.
 */
import { lookup } from 'node:dns/promises';
import type { FeedbackMonitor, FeedbackReply } from './feedback.js';
import { parseFeedbackBody } from './feedback-request.js';
import { plainPeerPost, type PeerPost } from './peer-transport.js';

/** Marks feedback one pod forwarded to another. */
export const FORWARDED_HEADER = 'x-modelship-feedback-forwarded';

/** Resolves a host name to every address it has (a headless Service: one per ready pod). */
export type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export interface PeerOptions {
  /** Comma-separated base URLs, http://host:port; a host name stands for every address it resolves to. */
  peers: string;
  timeoutMs: number;
  resolve?: Resolve;
  /** How a forwarded request is sent (default plain http; with TLS, peer-transport.ts's https). */
  post?: PeerPost;
}

/** The client's credential headers, passed on to the peers unchanged. */
export type Credentials = Record<string, string>;

/** The peers' base URLs now (names resolved at every call: pods come and go). Unresolvable names are skipped. */
export async function peerUrls(o: PeerOptions): Promise<string[]> {
  const resolve = o.resolve ?? resolveAll;
  const urls = await Promise.all(
    o.peers
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(async (base) => {
        const url = new URL(base);
        const host = url.hostname.replace(/^\[|\]$/g, '');
        let addresses: string[];
        try {
          addresses = await resolve(host);
        } catch {
          return [];
        }
        return addresses.map((a) => `${url.protocol}//${a.includes(':') ? `[${a}]` : a}:${url.port || 80}`);
      }),
  );
  return [...new Set(urls.flat())];
}

interface ItemResult {
  id: string;
  status: number;
  [field: string]: unknown;
}

/** Feedback answered here, and what this pod did not keep asked of the peers. */
export function feedbackWithPeers(
  monitor: Pick<FeedbackMonitor, 'feedback' | 'countUnknown'>,
  o: PeerOptions,
): (
  body: Uint8Array,
  path: string,
  forwarded: boolean,
  credentials: Credentials,
) => FeedbackReply | Promise<FeedbackReply> {
  return (body, path, forwarded, credentials) => {
    if (forwarded) return monitor.feedback(body, { countMisses: false });
    const local = monitor.feedback(body, { countMisses: false });
    const bulk = local.status === 200 && Array.isArray(local.body.results);
    const results: ItemResult[] = bulk
      ? (local.body.results as ItemResult[])
      : [{ ...(local.body as { id: string }), status: local.status }];
    const missed = results.flatMap((r, i) => (r.status === 404 ? [i] : []));
    // Nothing missed, or a body refused as a whole (400): nothing to ask the peers.
    if (missed.length === 0 || (!bulk && local.status !== 404)) return local;
    return askPeers(body, path, missed, credentials, o).then((found) => {
      for (const [i, r] of found) results[i] = r;
      const unknown = results.filter((r) => r.status === 404).length;
      monitor.countUnknown(unknown);
      if (!bulk) {
        const { status, ...rest } = results[0]!;
        return { status, body: rest };
      }
      const joined = results.filter((r) => r.status === 200).length;
      return { status: 200, body: { joined, rejected: results.length - joined, results } };
    });
  };
}

/** The missed items (by index) that a peer joined, with its answer for each. */
async function askPeers(
  body: Uint8Array,
  path: string,
  missed: number[],
  credentials: Credentials,
  o: PeerOptions,
): Promise<Map<number, ItemResult>> {
  const post = o.post ?? plainPeerPost;
  const doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as {
    feedback?: unknown[];
  };
  const items = parseFeedbackBody(body).bulk ? missed.map((i) => doc.feedback![i]) : [doc];
  const payload = JSON.stringify({ feedback: items });
  const answers = await Promise.all(
    (await peerUrls(o)).map(async (base) => {
      try {
        const res = await post(
          `${base}${path}`,
          { ...credentials, 'content-type': 'application/json', [FORWARDED_HEADER]: '1' },
          payload,
          o.timeoutMs,
        );
        const answer = res.json as { results?: ItemResult[] } | undefined;
        return res.ok && Array.isArray(answer?.results) ? answer.results : [];
      } catch {
        return [];
      }
    }),
  );
  const found = new Map<number, ItemResult>();
  for (const results of answers)
    results.forEach((r, k) => {
      if (r?.status === 200 && !found.has(missed[k]!)) found.set(missed[k]!, r);
    });
  return found;
}
