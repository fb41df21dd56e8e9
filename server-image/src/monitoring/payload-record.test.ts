import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { InferenceRecord } from './observer.js';
import { payloadJson, sha256Of } from './payload-record.js';

const record: InferenceRecord = {
  requestId: 'r-1',
  protocolId: 'p-1',
  model: 'iris',
  version: '2',
  time: Date.UTC(2025, 0, 2, 3, 4, 5, 6),
  latencyMs: 1.23456,
  status: 200,
  caller: 'alice',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0.5, 2]) }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [1], data: BigInt64Array.from([2n ** 60n]) },
    { name: 'name', datatype: 'BYTES', shape: [1], data: ['setosa'] },
    { name: 'ok', datatype: 'BOOL', shape: [1], data: Uint8Array.from([1]) },
  ],
};

const format = { revision: 'rev-a', redact: new Set<string>(), maxBytes: 65_536 };

describe('payloadJson', () => {
  it('writes the metadata and the tensors as JSON arrays (64-bit integers exactly)', () => {
    expect(JSON.parse(payloadJson(record, format))).toEqual({
      type: 'payload',
      requestId: 'r-1',
      id: 'p-1',
      time: '2025-01-02T03:04:05.006Z',
      model: 'iris',
      version: '2',
      revision: 'rev-a',
      caller: 'alice',
      status: 200,
      latencyMs: 1.235,
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 2], data: [0.5, 2] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [1], data: ['1152921504606846976'] },
        { name: 'name', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'ok', datatype: 'BOOL', shape: [1], data: [true] },
      ],
    });
  });

  it('replaces redacted tensors by the sha256 of their bytes', () => {
    const out = JSON.parse(payloadJson(record, { ...format, redact: new Set(['features', 'name']) }));
    const bytes = Buffer.from(Float32Array.from([0.5, 2]).buffer);
    expect(out.inputs[0]).toEqual({
      name: 'features',
      datatype: 'FP32',
      shape: [1, 2],
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    const prefixed = Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from('setosa')]);
    expect(out.outputs[1].sha256).toBe(createHash('sha256').update(prefixed).digest('hex'));
    expect(out.outputs[1].data).toBeUndefined();
    expect(sha256Of(record.outputs![1]!)).toBe(out.outputs[1].sha256);
  });

  it('keeps only the metadata of a record over maxBytes', () => {
    const big: InferenceRecord = {
      ...record,
      inputs: [
        { name: 'features', datatype: 'FP32', shape: [1, 100], data: new Float32Array(100).fill(0.123) },
      ],
    };
    const line = payloadJson(big, { ...format, maxBytes: 600 });
    expect(line.length).toBeLessThanOrEqual(600);
    const out = JSON.parse(line);
    expect(out.truncated).toBe(true);
    expect(out.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [1, 100], truncated: true }]);
    expect(out.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [1], truncated: true });
    expect(out.requestId).toBe('r-1');
  });

  it('writes a failed request with its error and no tensors', () => {
    const out = JSON.parse(
      payloadJson(
        { requestId: 'r', model: 'm', version: '', time: 0, latencyMs: 0, status: 400, error: 'bad' },
        format,
      ),
    );
    expect(out).toMatchObject({ status: 400, error: 'bad', inputs: [], outputs: [] });
    expect(out.id).toBeUndefined();
  });
});
