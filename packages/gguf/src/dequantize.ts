import { f16ToF32 } from './fp16.js';
import { dequantizeQ1_0 } from './q1_0.js';
import { dequantizeQ8_0 } from './q8_0.js';
import { GGML_TYPE, requireGgmlType } from './types.js';

/**
 * Tensor bytes of any supported type as float32 values (row-major, ne0 fastest).
 * For F32 the result is a copy.
 */
export function dequantize(type: number, bytes: Uint8Array): Float32Array {
  const info = requireGgmlType(type);
  if (bytes.length % info.typeSize !== 0) {
    throw new RangeError(`dequantize ${info.name}: ${bytes.length} bytes is not a whole number of ${info.typeSize}-byte blocks`);
  }
  switch (type) {
    case GGML_TYPE.F32:
      return new Float32Array(bytes.slice().buffer);
    case GGML_TYPE.F16: {
      const out = new Float32Array(bytes.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = f16ToF32(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return out;
    }
    case GGML_TYPE.Q8_0:
      return dequantizeQ8_0(bytes);
    default:
      return dequantizeQ1_0(bytes);
  }
}
