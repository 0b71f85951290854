import { f16ToF32, f32ToF16 } from './fp16.js';
import { Q1_0_BLOCK, Q1_0_BYTES } from './types.js';

// ---------------------------------------------------------------------------------------------
// Q1_0 (ggml type 41): block of 128 weights = 18 bytes: little-endian fp16 d, then qs[16].
// Weight j of a block is ((qs[j>>3] >> (j&7)) & 1) ? +d : -d   (bit 1 = +d, LSB first).
// ---------------------------------------------------------------------------------------------

/**
 * Quantizes `x` (length a multiple of 128) as llama.cpp's quantize_row_q1_0_ref does:
 * d = fp16(mean |x|) accumulated in float32, bit = x >= 0.
 * Returns (x.length/128) blocks of 18 bytes.
 */
export function quantizeQ1_0(x: Float32Array, out?: Uint8Array): Uint8Array {
  if (x.length % Q1_0_BLOCK !== 0) {
    throw new RangeError(`quantizeQ1_0: length ${x.length} is not a multiple of ${Q1_0_BLOCK}`);
  }
  const nBlocks = x.length / Q1_0_BLOCK;
  const dst = out ?? new Uint8Array(nBlocks * Q1_0_BYTES);
  if (dst.length < nBlocks * Q1_0_BYTES) throw new RangeError('quantizeQ1_0: output too small');
  for (let b = 0; b < nBlocks; b++) {
    const base = b * Q1_0_BLOCK;
    let sumAbs = 0;
    for (let j = 0; j < Q1_0_BLOCK; j++) sumAbs = Math.fround(sumAbs + Math.abs(x[base + j]!));
    const d = f32ToF16(Math.fround(sumAbs / Q1_0_BLOCK));
    const o = b * Q1_0_BYTES;
    dst[o] = d & 0xff;
    dst[o + 1] = d >>> 8;
    for (let k = 0; k < 16; k++) {
      let byte = 0;
      for (let bit = 0; bit < 8; bit++) if (x[base + k * 8 + bit]! >= 0) byte |= 1 << bit;
      dst[o + 2 + k] = byte;
    }
  }
  return dst;
}

/** Dequantizes (n/128) blocks of 18 bytes into n floats: +-d per bit. */
export function dequantizeQ1_0(blocks: Uint8Array, out?: Float32Array): Float32Array {
  if (blocks.length % Q1_0_BYTES !== 0) {
    throw new RangeError(`dequantizeQ1_0: ${blocks.length} bytes is not a whole number of 18-byte blocks`);
  }
  const nBlocks = blocks.length / Q1_0_BYTES;
  const dst = out ?? new Float32Array(nBlocks * Q1_0_BLOCK);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * Q1_0_BYTES;
    const d = f16ToF32(blocks[o]! | (blocks[o + 1]! << 8));
    const base = b * Q1_0_BLOCK;
    for (let j = 0; j < Q1_0_BLOCK; j++) {
      dst[base + j] = ((blocks[o + 2 + (j >> 3)]! >> (j & 7)) & 1) !== 0 ? d : -d;
    }
  }
  return dst;
}
