/**
 * Jest's node environment, with the typed array constructors of Node's main realm instead of the sandbox's own.
 * onnxruntime-node's native code creates output tensors' typed arrays in the main realm and hands them to
 * onnxruntime-common's Tensor constructor, which checks `data instanceof Float32Array` (etc.): inside Jest's VM
 * sandbox that check fails unless both sides see the same constructors. Test files that run onnxruntime opt in
 * with a `@jest-environment ./server-image/test/support/onnx-environment.js` docblock.
 */
import { TestEnvironment } from 'jest-environment-node';

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

export default class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (name in globalThis) this.global[name] = globalThis[name];
    }
  }
}
