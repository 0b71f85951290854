import { f16ToF32, f32ToF16 } from './fp16.js';
import { Q8_0_BLOCK, Q8_0_BYTES } from './types.js';

// ---------------------------------------------------------------------------------------------
// Q8_0 (ggml type 8): block of 32 values = 34 bytes: little-endian fp16 d, then 32 int8 q.
// value j = d * q[j].
// ---------------------------------------------------------------------------------------------

export interface Q8_0Options {
  /**
   * 'away' (default): roundf, half away from zero, as llama.cpp's quantize_row_q8_0_ref.
   * 'even': round half to even, as llama.cpp's SIMD CPU path does for activations.
   */
  rounding?: 'away' | 'even';
}

function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v); // half up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantizes `x` (length a multiple of 32): d = amax/127, id = 1/d (float32), q = round(x*id),
 * d stored as fp16. Returns (x.length/32) blocks of 34 bytes.
 */
export function quantizeQ8_0(x: Float32Array, options: Q8_0Options = {}, out?: Uint8Array): Uint8Array {
  if (x.length % Q8_0_BLOCK !== 0) {
    throw new RangeError(`quantizeQ8_0: length ${x.length} is not a multiple of ${Q8_0_BLOCK}`);
  }
  const round = options.rounding === 'even' ? roundHalfEven : roundHalfAway;
  const nBlocks = x.length / Q8_0_BLOCK;
  const dst = out ?? new Uint8Array(nBlocks * Q8_0_BYTES);
  if (dst.length < nBlocks * Q8_0_BYTES) throw new RangeError('quantizeQ8_0: output too small');
  for (let b = 0; b < nBlocks; b++) {
    const base = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[base + j]!));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const h = f32ToF16(d);
    const o = b * Q8_0_BYTES;
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const q = round(Math.fround(x[base + j]! * id));
      dst[o + 2 + j] = q & 0xff; // int8 two's complement
    }
  }
  return dst;
}

/** Dequantizes (n/32) blocks of 34 bytes into n floats. */
export function dequantizeQ8_0(blocks: Uint8Array, out?: Float32Array): Float32Array {
  if (blocks.length % Q8_0_BYTES !== 0) {
    throw new RangeError(`dequantizeQ8_0: ${blocks.length} bytes is not a whole number of 34-byte blocks`);
  }
  const nBlocks = blocks.length / Q8_0_BYTES;
  const dst = out ?? new Float32Array(nBlocks * Q8_0_BLOCK);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * Q8_0_BYTES;
    const d = f16ToF32(blocks[o]! | (blocks[o + 1]! << 8));
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const q = (blocks[o + 2 + j]! << 24) >> 24;
      dst[b * Q8_0_BLOCK + j] = Math.fround(d * q);
    }
  }
  return dst;
}
