import { describe, expect, it } from 'vitest';
import { copyGgufWithEdits } from './edit.js';
import { GgufError } from './errors.js';
import { readGguf } from './reader.js';
import { bytesSource } from './source.js';
import { GGML_TYPE } from './types.js';
import { meta } from './values.js';
import { encodeGgufHeader, memorySink, writeGguf } from './writer.js';

const f32Tensor = (name: string, n: number, fill = 1) => ({
  name, type: GGML_TYPE.F32, shape: [n], data: new Uint8Array(new Float32Array(n).fill(fill).buffer),
});

describe('GGUF writer', () => {
  it('lays tensors out in order, aligned, padded with zeros, and reports offsets', async () => {
    const sink = memorySink();
    const r = await writeGguf(sink, {
      metadata: [['general.alignment', meta.u32(32)]],
      tensors: [f32Tensor('a', 3), f32Tensor('b', 9, 2)],
    });
    const bytes = sink.bytes();
    expect(r.bytesWritten).toBe(bytes.length);
    expect(r.tensors.map((t) => [t.name, t.nBytes])).toEqual([['a', 12], ['b', 36]]);
    expect(r.tensors[0]!.offset).toBe(r.dataOffset);
    expect(r.tensors[1]!.offset).toBe(r.dataOffset + 32);
    expect(bytes.length).toBe(r.dataOffset + 32 + 64); // last tensor padded too
    expect(bytes.subarray(r.dataOffset + 12, r.dataOffset + 32).every((b) => b === 0)).toBe(true);
    const g = await readGguf(bytesSource(bytes));
    expect(g.tensors.map((t) => t.offset)).toEqual(r.tensors.map((t) => t.offset));
  });

  it('streams chunked producers and checks their total length', async () => {
    const ok = memorySink();
    await writeGguf(ok, {
      metadata: [],
      tensors: [{ name: 'x', type: GGML_TYPE.F16, shape: [4], data: function* () { yield new Uint8Array([1, 2, 3]); yield new Uint8Array([4, 5, 6, 7, 8]); } }],
    });
    const g = await readGguf(bytesSource(ok.bytes()));
    expect(Array.from(ok.bytes().subarray(g.dataOffset, g.dataOffset + 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await expect(writeGguf(memorySink(), {
      metadata: [], tensors: [{ name: 'x', type: GGML_TYPE.F16, shape: [4], data: new Uint8Array(7) }],
    })).rejects.toThrow(/tensor "x": its data has only 7 bytes, but type and shape \[4\] need 8/);
    await expect(writeGguf(memorySink(), {
      metadata: [], tensors: [{ name: 'x', type: GGML_TYPE.F16, shape: [4], data: new Uint8Array(9) }],
    })).rejects.toThrow(/more than/);
  });

  it('refuses bad specs before writing anything', () => {
    const bad = (spec: Parameters<typeof encodeGgufHeader>[0], re: RegExp) => {
      expect(() => encodeGgufHeader(spec)).toThrow(GgufError);
      expect(() => encodeGgufHeader(spec)).toThrow(re);
    };
    bad({ metadata: [['k', meta.u8(1)], ['k', meta.u8(2)]], tensors: [] }, /metadata key "k" is given twice/);
    bad({ metadata: [], tensors: [f32Tensor('t', 1), f32Tensor('t', 1)] }, /tensor "t" is given twice/);
    bad({ metadata: [], tensors: [{ name: 'n', type: 40, shape: [128], data: new Uint8Array(0) }] }, /ggml type 40 \(NVFP4\)/);
    bad({ metadata: [], tensors: [{ name: 'q', type: GGML_TYPE.Q1_0, shape: [100, 2], data: new Uint8Array(0) }] },
      /tensor "q" \(Q1_0, shape \[100, 2\]\) ne0 = 100 is not a multiple of the Q1_0 block size 128/);
    bad({ metadata: [['general.alignment', meta.u32(24)]], tensors: [] }, /power of two/);
    bad({ metadata: [['general.alignment', meta.u64(32n)]], tensors: [] }, /power of two/);
    bad({ metadata: [['x', meta.u8(256)]], tensors: [] }, /metadata "x": 256 is not a valid u8/);
    bad({ metadata: [['x', meta.u32(-1)]], tensors: [] }, /metadata "x": -1 is not a valid u32/);
    bad({ metadata: [['x', meta.i32(2.5)]], tensors: [] }, /metadata "x": 2\.5 is not a valid i32/);
  });
});

describe('copyGgufWithEdits', () => {
  it('copies byte for byte except the edited tensor ranges', async () => {
    const sink = memorySink();
    await writeGguf(sink, { metadata: [['a', meta.string('b')]], tensors: [f32Tensor('w', 16), f32Tensor('v', 8)] });
    const original = sink.bytes();
    const g = await readGguf(bytesSource(original));
    const out = memorySink();
    const r = await copyGgufWithEdits(bytesSource(original), [
      { tensor: 'v', byteOffset: 4, bytes: new Uint8Array([9, 9]) },
      { tensor: 'w', byteOffset: 60, bytes: new Uint8Array([7, 7, 7, 7]) },
    ], out, 16); // small chunks: edits straddle chunk borders
    const copy = out.bytes();
    expect(r).toEqual({ bytesWritten: original.length, editedBytes: 6 });
    expect(copy.length).toBe(original.length);
    const changed: number[] = [];
    for (let i = 0; i < copy.length; i++) if (copy[i] !== original[i]) changed.push(i);
    const v = g.tensor('v').offset;
    const w = g.tensor('w').offset;
    expect(changed).toEqual([w + 60, w + 61, w + 62, w + 63, v + 4, v + 5]);
    expect(copy).not.toBe(original);
    expect(original[v + 4]).not.toBe(9); // source untouched
  });

  it('refuses an edit outside its tensor', async () => {
    const sink = memorySink();
    await writeGguf(sink, { metadata: [], tensors: [f32Tensor('w', 4)] });
    await expect(copyGgufWithEdits(bytesSource(sink.bytes(), 'm.gguf'), [{ tensor: 'w', byteOffset: 14, bytes: new Uint8Array(4) }], memorySink()))
      .rejects.toThrow(/edit 0: bytes \[14, 18\) are outside tensor "w" \(16 bytes\)/);
    await expect(copyGgufWithEdits(bytesSource(sink.bytes(), 'm.gguf'), [{ tensor: 'x', byteOffset: 0, bytes: new Uint8Array(1) }], memorySink()))
      .rejects.toThrow(/tensor "x" is missing/);
  });
});
