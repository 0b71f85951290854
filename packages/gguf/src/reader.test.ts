import { describe, expect, it } from 'vitest';
import { GgufError } from './errors.js';
import { quantizeQ1_0 } from './q1_0.js';
import { quantizeQ8_0 } from './q8_0.js';
import { readGguf, readTensorBytes, readTensorChunks } from './reader.js';
import { bytesSource } from './source.js';
import { GGML_TYPE } from './types.js';
import { meta, type GgufValue } from './values.js';
import { memorySink, writeGguf, type GgufTensorSpec } from './writer.js';

function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

const METADATA: Array<[string, GgufValue]> = [
  ['general.architecture', meta.string('qwen3')],
  ['general.alignment', meta.u32(64)],
  ['t.u8', meta.u8(200)],
  ['t.i8', meta.i8(-100)],
  ['t.u16', meta.u16(60000)],
  ['t.i16', meta.i16(-30000)],
  ['t.u32', meta.u32(4_000_000_000)],
  ['t.i32', meta.i32(-2_000_000_000)],
  ['t.f32', meta.f32(1e-6)],
  ['t.f64', meta.f64(Math.PI)],
  ['t.u64', meta.u64(2n ** 63n + 5n)],
  ['t.i64', meta.i64(-(2n ** 62n))],
  ['t.bool', meta.bool(true)],
  ['t.string', meta.string('héllo ✓ 🙂')],
  ['t.strings', meta.strings(['a', '', 'Ġthe', '<|im_end|>'])],
  ['t.i32s', meta.i32s([1, -2, 3])],
  ['t.f32s', meta.f32s([0.5, -1.25])],
  ['t.bools', { type: 'array', itemType: 'bool', value: [true, false, true] }],
  ['t.u64s', { type: 'array', itemType: 'u64', value: new BigUint64Array([1n, 2n ** 64n - 1n]) }],
];

function sampleTensors(): GgufTensorSpec[] {
  return [
    { name: 'q1', type: GGML_TYPE.Q1_0, shape: [256, 3], data: quantizeQ1_0(floats(256 * 3, 1)) },
    { name: 'f32', type: GGML_TYPE.F32, shape: [5], data: new Uint8Array(floats(5, 2).buffer) },
    { name: 'f16', type: GGML_TYPE.F16, shape: [4, 3, 2], data: new Uint8Array(48).map((_, i) => i) },
    { name: 'q8', type: GGML_TYPE.Q8_0, shape: [64, 2], data: quantizeQ8_0(floats(128, 3)) },
  ];
}

async function sampleFile(): Promise<Uint8Array> {
  const sink = memorySink();
  await writeGguf(sink, { metadata: METADATA, tensors: sampleTensors() });
  return sink.bytes();
}

/** Byte offsets of the fields of tensor `i`'s info record. */
function infoFields(bytes: Uint8Array, infoOffset: number) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const nameLen = Number(dv.getBigUint64(infoOffset, true));
  const dimsAt = infoOffset + 8 + nameLen;
  const nDims = dv.getUint32(dimsAt, true);
  const typeAt = dimsAt + 4 + 8 * nDims;
  return { dv, dimsAt, ne0At: dimsAt + 4, typeAt, offsetAt: typeAt + 4 };
}

async function expectError(bytes: Uint8Array, pattern: RegExp): Promise<GgufError> {
  try {
    await readGguf(bytesSource(bytes, 'model.gguf'));
  } catch (e) {
    expect(e).toBeInstanceOf(GgufError);
    expect((e as Error).message).toMatch(/^model\.gguf/);
    expect((e as Error).message).toMatch(pattern);
    return e as GgufError;
  }
  throw new Error(`expected a GgufError matching ${pattern}`);
}

describe('GGUF writer -> reader round trip', () => {
  it('reads back every metadata type, in order, and every tensor', async () => {
    const bytes = await sampleFile();
    const g = await readGguf(bytesSource(bytes, 'x.gguf'));
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(64);
    expect([...g.metadata.keys()]).toEqual(METADATA.map(([k]) => k));
    for (const [k, v] of METADATA) {
      const got = g.get(k);
      expect(got.type).toBe(v.type);
      if (v.type === 'f32') expect(got.value).toBe(Math.fround(v.value));
      else expect(got).toEqual(v);
    }
    expect(g.getU32('t.u32')).toBe(4_000_000_000);
    expect(g.getString('t.string')).toBe('héllo ✓ 🙂');
    expect(g.getStringArray('t.strings')).toEqual(['a', '', 'Ġthe', '<|im_end|>']);
    expect(g.getF32('t.f64')).toBe(Math.PI);
    expect(g.dataOffset % 64).toBe(0);
    const specs = sampleTensors();
    expect(g.tensors.map((t) => t.name)).toEqual(specs.map((t) => t.name));
    for (const spec of specs) {
      const t = g.tensor(spec.name);
      expect(t.shape).toEqual(spec.shape);
      expect(t.offset % 64).toBe(0);
      expect(await readTensorBytes(bytesSource(bytes), t)).toEqual(spec.data);
    }
    const q1 = g.tensor('q1');
    expect([q1.typeName, q1.nElements, q1.nBytes, q1.rowBytes, q1.nRows]).toEqual(['Q1_0', 768, 108, 36, 3]);
    expect(g.tensor('f16').nRows).toBe(6);
  });

  it('is byte-identical when the parsed header and data are written again', async () => {
    const bytes = await sampleFile();
    const src = bytesSource(bytes);
    const g = await readGguf(src);
    const sink = memorySink();
    await writeGguf(sink, {
      metadata: g.metadata,
      tensors: g.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: () => chunkBytes(src, t) })),
    });
    expect(sink.bytes()).toEqual(bytes);
  });

  it('streams whole rows per chunk', async () => {
    const bytes = await sampleFile();
    const src = bytesSource(bytes);
    const t = (await readGguf(src)).tensor('q1'); // 3 rows of 36 bytes
    const chunks = [];
    for await (const c of readTensorChunks(src, t, { chunkBytes: 80 })) chunks.push({ ...c, bytes: c.bytes.slice() });
    expect(chunks.map((c) => [c.byteOffset, c.rowStart, c.rowCount, c.bytes.length])).toEqual([[0, 0, 2, 72], [72, 2, 1, 36]]);
    const tiny = [];
    for await (const c of readTensorChunks(src, t, { chunkBytes: 1 })) tiny.push(c.rowCount);
    expect(tiny).toEqual([1, 1, 1]); // never less than a row
    const joined = new Uint8Array(t.nBytes);
    for (const c of chunks) joined.set(c.bytes, c.byteOffset);
    expect(joined).toEqual(bytes.subarray(t.offset, t.offset + t.nBytes));
  });

  it('parses a 152k-string vocabulary', async () => {
    const vocab = Array.from({ length: 151_936 }, (_, i) => (i % 7 === 0 ? `Ġtok${i}` : `t${i}`));
    const sink = memorySink();
    await writeGguf(sink, { metadata: [['tokenizer.ggml.tokens', meta.strings(vocab)]], tensors: [] });
    const t0 = performance.now();
    const g = await readGguf(bytesSource(sink.bytes()));
    const ms = performance.now() - t0;
    expect(g.getStringArray('tokenizer.ggml.tokens')).toEqual(vocab);
    console.log(`152k-token vocab header parsed in ${ms.toFixed(1)} ms`);
  });
});

/** A tensor's bytes in odd-sized 7-byte chunks (exercises the writer's buffering). */
async function* chunkBytes(src: ReturnType<typeof bytesSource>, t: Parameters<typeof readTensorChunks>[1]) {
  for await (const c of readTensorChunks(src, t, { chunkBytes: 7, rowAligned: false })) yield c.bytes.slice();
}

describe('GGUF reader validation', () => {
  it('refuses a bad magic', async () => {
    const b = await sampleFile();
    b[0] = 0x47 ^ 1;
    await expectError(b, /bad magic.*not a GGUF file/);
  });

  it('refuses versions other than 2 and 3', async () => {
    const b = await sampleFile();
    new DataView(b.buffer).setUint32(4, 4, true);
    const e = await expectError(b, /at byte 4: unsupported GGUF version 4/);
    expect(e.offset).toBe(4);
    new DataView(b.buffer).setUint32(4, 1, true);
    await expectError(b, /version 1.*current llama\.cpp/);
    new DataView(b.buffer).setUint32(4, 2, true); // v2 has the same layout: read it
    expect((await readGguf(bytesSource(b))).version).toBe(2);
  });

  it('refuses truncated files at every stage', async () => {
    const full = await sampleFile();
    const g = await readGguf(bytesSource(full));
    const dataEnd = Math.max(...g.tensors.map((t) => t.offset + t.nBytes));
    for (const cut of [3, 10, 30, 200, g.tensors[0]!.infoOffset + 5, g.dataOffset + 10, dataEnd - 1]) {
      await expectError(full.slice(0, cut), /truncated/);
    }
  });

  it('refuses huge tensor and metadata counts before allocating', async () => {
    const b = await sampleFile();
    const dv = new DataView(b.buffer);
    dv.setBigUint64(8, 1n << 40n, true);
    await expectError(b, /at byte 8: tensor count 1099511627776 cannot fit/);
    dv.setBigUint64(8, 4n, true);
    dv.setBigUint64(16, 2n ** 40n, true);
    await expectError(b, /at byte 16: metadata count .* cannot fit/);
    dv.setBigUint64(16, 2n ** 62n, true);
    await expectError(b, /at byte 16: the metadata count is 4611686018427387904, larger than any file/);
  });

  it('refuses a string length or array count larger than the file', async () => {
    const b = await sampleFile();
    const dv = new DataView(b.buffer);
    dv.setBigUint64(24, 1n << 33n, true); // length of the first key
    await expectError(b, /at byte 24: .*has length 8589934592/);
    const fresh = await sampleFile();
    // find the t.strings array count: key, type (9), item type (8), count
    const at = indexOf(fresh, 't.strings') + 't.strings'.length + 8;
    new DataView(fresh.buffer).setBigUint64(at, 1n << 50n, true);
    await expectError(fresh, /array "t\.strings" claims 1125899906842624 items/);
  });

  it('refuses unknown tensor type 40 (NVFP4, not 1-bit)', async () => {
    const b = await sampleFile();
    const g = await readGguf(bytesSource(b));
    const f = infoFields(b, g.tensor('q1').infoOffset);
    f.dv.setUint32(f.typeAt, 40, true);
    const e = await expectError(b, /tensor "q1": ggml type 40 \(NVFP4\) is not supported .*not 1-bit: Q1_0 is 41/);
    expect(e.offset).toBe(f.typeAt);
  });

  it('refuses misaligned tensor offsets', async () => {
    const b = await sampleFile();
    const g = await readGguf(bytesSource(b));
    const f = infoFields(b, g.tensor('f32').infoOffset);
    f.dv.setBigUint64(f.offsetAt, BigInt(g.tensor('f32').relativeOffset + 4), true);
    await expectError(b, new RegExp(`at byte ${f.offsetAt}: tensor "f32" data offset \\d+ is not a multiple of the alignment 64`));
  });

  it('refuses overlapping tensors', async () => {
    const b = await sampleFile();
    const g = await readGguf(bytesSource(b));
    const f = infoFields(b, g.tensor('f16').infoOffset);
    f.dv.setBigUint64(f.offsetAt, BigInt(g.tensor('f32').relativeOffset), true);
    await expectError(b, /tensor "f16" data at \d+ overlaps tensor "f32"|tensor "f32" data at \d+ overlaps tensor "f16"/);
  });

  it('refuses tensor data past the end of the file', async () => {
    const b = await sampleFile();
    const g = await readGguf(bytesSource(b));
    const f = infoFields(b, g.tensor('q8').infoOffset);
    f.dv.setBigUint64(f.offsetAt, BigInt(g.tensor('q8').relativeOffset + 64 * 100), true);
    await expectError(b, /tensor "q8" data .* runs past the end/);
  });

  it('refuses ne0 that is not a multiple of the block size, and absurd shapes', async () => {
    const b = await sampleFile();
    const g = await readGguf(bytesSource(b));
    const f = infoFields(b, g.tensor('q1').infoOffset);
    f.dv.setBigUint64(f.ne0At, 200n, true);
    await expectError(b, /tensor "q1" \(Q1_0, shape \[200, 3\]\) ne0 = 200 is not a multiple of the Q1_0 block size 128/);
    f.dv.setBigUint64(f.ne0At, 2n ** 52n, true);
    f.dv.setBigUint64(f.ne0At + 8, 2n ** 20n, true);
    await expectError(b, /overflows 2\^53/);
    f.dv.setUint32(f.dimsAt, 7, true);
    await expectError(b, /tensor "q1" has 7 dimensions/);
  });

  it('refuses duplicate keys and duplicate tensor names', async () => {
    const b = await sampleFile();
    const at = indexOf(b, 't.u16');
    b.set(new TextEncoder().encode('t.i16'), at);
    await expectError(b, /duplicate metadata key "t\.i16"/);
    // rename tensor "f16" to "f32" (same length, so the header stays valid otherwise)
    const d = await sampleFile();
    const g = await readGguf(bytesSource(d));
    d.set(new TextEncoder().encode('f32'), g.tensor('f16').infoOffset + 8);
    await expectError(d, /duplicate tensor name "f32"/);
  });

  it('refuses an alignment that is not a power of two', async () => {
    const b = await sampleFile();
    const at = indexOf(b, 'general.alignment') + 'general.alignment'.length + 4;
    new DataView(b.buffer).setUint32(at, 48, true);
    await expectError(b, new RegExp(`at byte ${at - 4}: general\\.alignment must be a u32 power of two, got u32 48`));
  });

  it('refuses unknown value types and nested arrays', async () => {
    const b = await sampleFile();
    const at = indexOf(b, 't.u8') + 't.u8'.length;
    new DataView(b.buffer).setUint32(at, 13, true);
    await expectError(b, new RegExp(`at byte ${at}: metadata key "t\\.u8" has unknown value type 13`));
    const c = await sampleFile();
    const arr = indexOf(c, 't.i32s') + 't.i32s'.length + 4;
    new DataView(c.buffer).setUint32(arr, 9, true);
    await expectError(c, /array "t\.i32s" has item type 9 \(nested arrays\)/);
  });

  it('names a missing or mistyped key', async () => {
    const g = await readGguf(bytesSource(await sampleFile(), 'm.gguf'));
    expect(() => g.getU32('qwen3.block_count')).toThrow(/m\.gguf: metadata key "qwen3\.block_count" is missing/);
    expect(() => g.getString('t.u32')).toThrow(/"t\.u32" is u32, expected a string/);
    expect(() => g.getU32('t.i8')).toThrow(/expected an unsigned 32-bit integer/);
    expect(() => g.tensor('nope')).toThrow(/tensor "nope" is missing/);
  });
});

function indexOf(hay: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error(`"${text}" not found`);
}
