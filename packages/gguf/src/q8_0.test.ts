import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from './fp16.js';
import { dequantizeQ8_0, quantizeQ8_0 } from './q8_0.js';

describe('Q8_0', () => {
  it('quantizes a hand-made block: d = amax/127, q = round(x/d)', () => {
    const x = new Float32Array(32);
    x[0] = 127;
    x[1] = -127;
    x[2] = 1.5; // exactly half: away -> 2, even -> 2
    x[3] = 2.5; // away -> 3, even -> 2
    x[4] = -2.5; // away -> -3, even -> -2
    const away = quantizeQ8_0(x);
    expect(away[0]! | (away[1]! << 8)).toBe(f32ToF16(1));
    const q = Int8Array.from(away.subarray(2));
    expect(Array.from(q.slice(0, 6))).toEqual([127, -127, 2, 3, -3, 0]);
    const even = Int8Array.from(quantizeQ8_0(x, { rounding: 'even' }).subarray(2));
    expect(Array.from(even.slice(0, 6))).toEqual([127, -127, 2, 2, -2, 0]);
  });

  it('an all-zero block has d = 0 and q = 0', () => {
    const q = quantizeQ8_0(new Float32Array(32));
    expect(q.every((b) => b === 0)).toBe(true);
    expect(dequantizeQ8_0(q).every((v) => v === 0)).toBe(true);
  });

  it('dequantizes within half a step (plus the fp16 rounding of d) on random data', () => {
    let s = 11;
    const x = new Float32Array(32 * 50);
    for (let i = 0; i < x.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      x[i] = (s / 4294967296 - 0.5) * 10;
    }
    const bytes = quantizeQ8_0(x);
    const y = dequantizeQ8_0(bytes);
    for (let b = 0; b < 50; b++) {
      const d = f16ToF32(bytes[b * 34]! | (bytes[b * 34 + 1]! << 8));
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        // q was rounded against the float32 d; the stored fp16 d differs by <= 2^-11 relative
        expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(d / 2 + Math.abs(x[i]!) * 2 ** -10 + 1e-6);
      }
    }
  });

  it('decodes int8 as two\'s complement', () => {
    const bytes = new Uint8Array(34);
    bytes[0] = 0x00;
    bytes[1] = 0x3c; // d = 1
    bytes[2] = 0xff; // -1
    bytes[3] = 0x80; // -128
    bytes[4] = 0x7f; // 127
    const y = dequantizeQ8_0(bytes);
    expect(Array.from(y.slice(0, 4))).toEqual([-1, -128, 127, 0]);
  });
});
