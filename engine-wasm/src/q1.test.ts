import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type Q1Tensor } from './index.js';
import { f16Bits, rng } from './test-util.js';

let e: Engine;
beforeAll(async () => {
  e = await createEngine();
});

function place(rows: number, cols: number, gguf: Uint8Array): Q1Tensor {
  const t = e.q1Place(e.q1Layout(rows, cols), e.alloc(e.q1Layout(rows, cols).bytes));
  const src = e.alloc(gguf.length);
  e.u8(src, gguf.length).set(gguf);
  e.q1PackRows(t, 0, rows, src);
  return t;
}

function unpack(t: Q1Tensor): Uint8Array {
  const bytes = t.rows * t.groups * 18;
  const dst = e.alloc(bytes);
  e.q1UnpackRows(t, 0, t.rows, dst);
  return e.u8(dst, bytes).slice();
}

describe('Q1_0 layout', () => {
  it('pack -> unpack returns identical GGUF bytes (random bytes, any fp16 scale incl. NaN/inf/subnormal)', () => {
    const rand = rng(10);
    for (const [rows, cols] of [[16, 128], [37, 256], [5, 384]]) {
      const mark = e.mark();
      const gguf = new Uint8Array(rows * (cols / 128) * 18);
      for (let i = 0; i < gguf.length; i++) gguf[i] = (rand() * 256) | 0;
      const dv = new DataView(gguf.buffer);
      dv.setUint16(0, 0x7c01, true); // signalling-style NaN
      dv.setUint16(18, 0x0001, true); // smallest subnormal
      dv.setUint16(36, 0xfc00, true); // -inf
      const t = place(rows, cols, gguf);
      expect(Buffer.from(unpack(t)).equals(Buffer.from(gguf))).toBe(true);
      e.reset(mark);
    }
  });

  it('unpacks a row range into the right place', () => {
    const rand = rng(11);
    const rows = 40, cols = 256;
    const gguf = new Uint8Array(rows * 2 * 18).map(() => (rand() * 256) | 0);
    const mark = e.mark();
    const t = place(rows, cols, gguf);
    const dst = e.alloc(3 * 2 * 18);
    e.q1UnpackRows(t, 17, 3, dst);
    expect(Array.from(e.u8(dst, 108))).toEqual(Array.from(gguf.slice(17 * 36, 20 * 36)));
    e.reset(mark);
  });

  it('dequantizes hand-made blocks: bit j of byte j>>3, LSB first, bit 1 = +d', () => {
    const mark = e.mark();
    const rows = 2, cols = 256;
    const gguf = new Uint8Array(rows * 2 * 18);
    const dv = new DataView(gguf.buffer);
    dv.setUint16(0, f16Bits(0.5), true);       // row 0, group 0
    gguf[2] = 0b00000001;                        // weight 0 = +d, weights 1..7 = -d
    gguf[3] = 0b10000000;                        // weight 15 = +d
    gguf[17] = 0xff;                             // weights 120..127 = +d
    dv.setUint16(18, f16Bits(-0.25), true);    // row 0, group 1: negative scale kept as is
    gguf[20] = 0b00000010;                       // weight 128+1 = +d
    dv.setUint16(36, f16Bits(2), true);        // row 1, group 0: all bits 0 -> all -d
    const t = place(rows, cols, gguf);
    const out = e.alloc(cols * 4);
    e.q1DequantRow(t, 0, out);
    const w0 = Array.from(e.f32(out, cols));
    const want0 = new Array(cols).fill(0).map((_, j) => {
      if (j < 128) return j === 0 || j === 15 || j >= 120 ? 0.5 : -0.5;
      return j === 129 ? -0.25 : 0.25;
    });
    expect(w0).toEqual(want0);
    e.q1DequantRow(t, 1, out);
    expect(Array.from(e.f32(out, 128))).toEqual(new Array(128).fill(-2));
    e.reset(mark);
  });

  it('q1RowScale is the mean fp16 scale of the row', () => {
    const mark = e.mark();
    const gguf = new Uint8Array(1 * 3 * 18);
    const dv = new DataView(gguf.buffer);
    [0.5, 0.25, 0.125].forEach((d, i) => dv.setUint16(i * 18, f16Bits(d), true));
    const t = place(1, 384, gguf);
    expect(e.q1RowScale(t, 0)).toBeCloseTo((0.5 + 0.25 + 0.125) / 3, 12);
    e.reset(mark);
  });

  it('xorRows / xorGroups flip exactly the right bits and twice restores the bytes', () => {
    const rand = rng(12);
    const rows = 20, cols = 256;
    const gguf = new Uint8Array(rows * 2 * 18).map(() => (rand() * 256) | 0);
    const mark = e.mark();
    const t = place(rows, cols, gguf);
    const list = e.alloc(8);
    e.i32(list, 2).set([3, 17]);
    const pairs = e.alloc(16);
    e.i32(pairs, 4).set([5, 1, 17, 0]);
    e.xorRows(t, list, 2);
    e.xorGroups(t, pairs, 2);
    const flipped = unpack(t);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < 2; g++) {
        const off = (r * 2 + g) * 18;
        const rowFlip = r === 3 || r === 17;
        const grpFlip = (r === 5 && g === 1) || (r === 17 && g === 0);
        const inv = rowFlip !== grpFlip;
        expect(flipped[off]).toBe(gguf[off]); // scale untouched
        expect(flipped[off + 1]).toBe(gguf[off + 1]);
        for (let j = 0; j < 16; j++) expect(flipped[off + 2 + j]).toBe(inv ? gguf[off + 2 + j] ^ 0xff : gguf[off + 2 + j]);
      }
    }
    e.xorRows(t, list, 2);
    e.xorGroups(t, pairs, 2);
    expect(Buffer.from(unpack(t)).equals(Buffer.from(gguf))).toBe(true);
    e.reset(mark);
  });

  it('rejects bad shapes and out-of-range rows with clear messages', () => {
    expect(() => e.q1Layout(4, 100)).toThrow(/multiple of 128/);
    const t = e.q1Place(e.q1Layout(4, 128), e.alloc(e.q1Layout(4, 128).bytes));
    expect(() => e.q1DequantRow(t, 4, e.alloc(512))).toThrow(/outside the tensor's 4 rows/);
    const pairs = e.alloc(8);
    e.i32(pairs, 2).set([1, 1]);
    expect(() => e.xorGroups(t, pairs, 1)).toThrow(/group 1\) outside/);
  });
});
