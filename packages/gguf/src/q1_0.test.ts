import { describe, expect, it } from 'vitest';
import { f32ToF16, f16ToF32 } from './fp16.js';
import { dequantize } from './dequantize.js';
import { dequantizeQ1_0, quantizeQ1_0 } from './q1_0.js';
import { GGML_TYPE } from './types.js';

function block(dBits: number, qs: number[]): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = dBits & 0xff;
  b[1] = dBits >> 8;
  qs.forEach((v, i) => (b[2 + i] = v));
  return b;
}

function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 4;
  }
  return out;
}

describe('Q1_0 dequantize (hand-made blocks: the sign and bit-order trap)', () => {
  it('bit 1 is +d, bit 0 is -d, LSB of qs[0] is weight 0', () => {
    // d = 1.0 (0x3c00); only weight 0 (qs[0] bit 0) and weight 15 (qs[1] bit 7) are set
    const w = dequantizeQ1_0(block(0x3c00, [0x01, 0x80]));
    expect(w[0]).toBe(1);
    expect(w[1]).toBe(-1);
    expect(w[7]).toBe(-1);
    expect(w[8]).toBe(-1);
    expect(w[15]).toBe(1);
    expect(w[16]).toBe(-1);
    expect(w[127]).toBe(-1);
    expect(w.filter((x) => x > 0).length).toBe(2);
  });

  it('reads d as little-endian fp16 and the last byte as weights 120..127', () => {
    // d = 0.5 = 0x3800: low byte first
    const qs = new Array(16).fill(0);
    qs[15] = 0b0100_0001; // weights 120 and 126
    const w = dequantizeQ1_0(block(0x3800, qs));
    expect(w[120]).toBe(0.5);
    expect(w[126]).toBe(0.5);
    expect(w[121]).toBe(-0.5);
    expect(w[127]).toBe(-0.5);
  });

  it('decodes consecutive blocks independently', () => {
    const two = new Uint8Array(36);
    two.set(block(0x3c00, new Array(16).fill(0xff)), 0);
    two.set(block(0x4000, new Array(16).fill(0x00)), 18);
    const w = dequantizeQ1_0(two);
    expect(w.length).toBe(256);
    expect(w.slice(0, 128).every((x) => x === 1)).toBe(true);
    expect(w.slice(128).every((x) => x === -2)).toBe(true);
  });

  it('is what the generic dequantize() gives for type 41, and F16/F32 decode as themselves', () => {
    const q = quantizeQ1_0(randomFloats(256, 5));
    expect(dequantize(GGML_TYPE.Q1_0, q)).toEqual(dequantizeQ1_0(q));
    expect(Array.from(dequantize(GGML_TYPE.F16, new Uint8Array([0x00, 0x3c, 0x00, 0xc0])))).toEqual([1, -2]);
    expect(Array.from(dequantize(GGML_TYPE.F32, new Uint8Array(new Float32Array([0.25]).buffer)))).toEqual([0.25]);
    expect(() => dequantize(40, new Uint8Array(18))).toThrow(/ggml type 40 \(NVFP4\)/);
  });

  it('rejects a partial block', () => {
    expect(() => dequantizeQ1_0(new Uint8Array(17))).toThrow(/18-byte blocks/);
  });
});

describe('Q1_0 quantize', () => {
  it('uses d = fp16(mean |x|) and bit = x >= 0 (zero and -0 count as positive)', () => {
    const x = new Float32Array(128).fill(-1);
    x[0] = 0;
    x[1] = -0;
    x[2] = 3;
    const q = quantizeQ1_0(x);
    const mean = (125 * 1 + 3) / 128;
    expect(q[0]! | (q[1]! << 8)).toBe(f32ToF16(mean));
    expect(q[2]).toBe(0b0000_0111);
    expect(q.subarray(3).every((b) => b === 0)).toBe(true);
  });

  it('round-trips random rows to sign(x) * fp16(mean |x|)', () => {
    const x = randomFloats(128 * 64, 7);
    const w = dequantizeQ1_0(quantizeQ1_0(x));
    for (let b = 0; b < 64; b++) {
      let sum = 0;
      for (let j = 0; j < 128; j++) sum = Math.fround(sum + Math.abs(x[b * 128 + j]!));
      const d = f16ToF32(f32ToF16(Math.fround(sum / 128)));
      for (let j = 0; j < 128; j++) {
        const i = b * 128 + j;
        expect(w[i]).toBe(x[i]! >= 0 ? d : -d);
      }
    }
  });

  it('is idempotent: quantizing dequantized weights gives the same bytes', () => {
    const q = quantizeQ1_0(randomFloats(128 * 8, 3));
    expect(quantizeQ1_0(dequantizeQ1_0(q))).toEqual(q);
  });

  it('rejects lengths that are not a multiple of 128', () => {
    expect(() => quantizeQ1_0(new Float32Array(100))).toThrow(/multiple of 128/);
  });
});
