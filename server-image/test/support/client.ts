/**
 * A minimal Open Inference Protocol client for tests, speaking JSON and Triton's binary tensor extension the way
 * tritonclient.http does (JSON header, Inference-Header-Content-Length, raw little-endian tensors).
 */
import { request } from 'node:http';

/** Parsed JSON as tests read it: assertions check the structure, so the type stays open. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request over a fresh connection (no keep-alive), returning the raw response. */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: Uint8Array | string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function getJson(
  url: string,
): Promise<{ status: number; json: Json; headers: HttpResult['headers'] }> {
  const r = await http(url);
  return { status: r.status, headers: r.headers, json: JSON.parse(r.body.toString('utf8')) };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; headers: HttpResult['headers'] }> {
  const r = await http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, json: JSON.parse(r.body.toString('utf8')) };
}

/** JSON header followed by raw tensors, with Inference-Header-Content-Length. */
export function binaryBody(header: unknown, tensors: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...tensors]), headerLength: json.byteLength };
}

export async function postBinary(
  url: string,
  header: unknown,
  tensors: Uint8Array[],
): Promise<{ status: number; json: Json; outputs: Map<string, Buffer>; headers: HttpResult['headers'] }> {
  const { body, headerLength } = binaryBody(header, tensors);
  const r = await http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength },
    body,
  });
  return { status: r.status, headers: r.headers, ...splitBinaryResponse(r) };
}

/** Parses a response that may carry binary outputs: JSON part plus each binary output's bytes by name. */
export function splitBinaryResponse(r: HttpResult): { json: Json; outputs: Map<string, Buffer> } {
  const lengthHeader = r.headers['inference-header-content-length'];
  const jsonLength = lengthHeader === undefined ? r.body.byteLength : Number(lengthHeader);
  const json = JSON.parse(r.body.subarray(0, jsonLength).toString('utf8'));
  const outputs = new Map<string, Buffer>();
  let offset = jsonLength;
  for (const o of json.outputs ?? []) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    outputs.set(o.name, r.body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== r.body.byteLength)
    throw new Error(`response has ${r.body.byteLength - offset} unexplained bytes`);
  return { json, outputs };
}

/** BYTES elements in binary form: 4-byte little-endian length, then the bytes. */
export function encodeStrings(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((s) => {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.byteLength);
      return [len, b];
    }),
  );
}

export function decodeStrings(buf: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o < buf.byteLength;) {
    const len = buf.readUInt32LE(o);
    out.push(buf.subarray(o + 4, o + 4 + len).toString('utf8'));
    o += 4 + len;
  }
  return out;
}

export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
