/**
 * Which onnxruntime run failures are the client's fault. The decoder already refuses what the signature alone
 * rules out (datatype, rank, fixed dimensions, element counts); what reaches onnxruntime can still fail on values
 * the graph cannot take: dynamic dimensions that disagree between inputs, an index out of range. Those are 400s;
 * every other failure is a 500.
 * onnxruntime says which only in its message text, so the patterns below match the exact wording of onnxruntime-node
 * 1.30. Each is provoked through a real session in test/ort-errors.test.ts: an upgrade that rewords a message fails
 * that test instead of silently turning client errors into 500s.
 */

export interface ClientErrorPattern {
  /** What the client did wrong, for the test that provokes it. */
  readonly name: string;
  readonly pattern: RegExp;
}

export const CLIENT_ERROR_PATTERNS: readonly ClientErrorPattern[] = [
  // Inputs whose dynamic dimensions disagree, met by an element-wise operator.
  { name: 'broadcast', pattern: /Attempting to broadcast an axis by a dimension other than 1/ },
  { name: 'matmul', pattern: /MatMul dimension mismatch/ },
  { name: 'concat', pattern: /Non concat axis dimensions must match/ },
  // A dynamic dimension the graph reshapes, expands or splits into sizes that do not fit.
  { name: 'reshape', pattern: /cannot be reshaped to the requested shape/ },
  { name: 'expand', pattern: /invalid expand shape/ },
  { name: 'split', pattern: /exceeds the remaining size of the selected axis/ },
  // An index input out of the range of the table it indexes.
  { name: 'gather', pattern: /indices element out of data bounds/ },
  // onnxruntime's own input checks (the decoder checks first; these guard a gap in it).
  { name: 'input rank', pattern: /Invalid rank for input/ },
  { name: 'input dimensions', pattern: /Got invalid dimensions for input/ },
  { name: 'input datatype', pattern: /Unexpected input data type/ },
];

/** `invalid_argument` (HTTP 400) when the message is one of the client errors above, else `internal` (500). */
export function classifyOrtError(message: string): 'invalid_argument' | 'internal' {
  return CLIENT_ERROR_PATTERNS.some((p) => p.pattern.test(message)) ? 'invalid_argument' : 'internal';
}
