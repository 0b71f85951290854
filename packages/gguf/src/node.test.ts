import { gguf as hfGguf } from '@huggingface/gguf';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyGgufFileWithEdits, fileSource, readGgufFile, writeGgufFile } from './node.js';
import { quantizeQ1_0 } from './q1_0.js';
import { readGguf, readTensorBytes } from './reader.js';
import { GGML_TYPE } from './types.js';
import { meta, plainValue } from './values.js';
import type { GgufWriteSpec } from './writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bankai-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = (): GgufWriteSpec => ({
  metadata: [
    ['general.architecture', meta.string('qwen3')],
    ['general.alignment', meta.u32(32)],
    ['qwen3.block_count', meta.u32(2)],
    ['qwen3.rope.freq_base', meta.f32(1e6)],
    ['x.i64', meta.i64(-5n)],
    ['tokenizer.ggml.tokens', meta.strings(['a', 'b', 'Ġc'])],
    ['tokenizer.ggml.token_type', meta.i32s([1, 1, 3])],
  ],
  tensors: [
    { name: 'token_embd.weight', type: GGML_TYPE.Q1_0, shape: [128, 3], data: quantizeQ1_0(new Float32Array(384).map((_, i) => Math.sin(i))) },
    { name: 'output_norm.weight', type: GGML_TYPE.F32, shape: [128], data: new Uint8Array(512).fill(1) },
  ],
});

describe('node file edge', () => {
  it('writes atomically and reads back through fileSource', async () => {
    const path = join(dir, 'm.gguf');
    const r = await writeGgufFile(path, spec());
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const src = await fileSource(path);
    try {
      const g = await readGguf(src);
      expect(src.size).toBe(r.bytesWritten);
      expect(g.getStringArray('tokenizer.ggml.tokens')).toEqual(['a', 'b', 'Ġc']);
      expect(await readTensorBytes(src, g.tensor('output_norm.weight'))).toEqual(new Uint8Array(512).fill(1));
    } finally {
      await src.close();
    }
  });

  it('leaves no file behind when writing fails', async () => {
    const path = join(dir, 'bad.gguf');
    const s = spec();
    s.tensors[1]!.data = new Uint8Array(3);
    await expect(writeGgufFile(path, s)).rejects.toThrow(/output_norm\.weight/);
    expect((await readdir(dir)).filter((f) => f.includes('bad'))).toEqual([]);
  });

  it('names the file in errors', async () => {
    const path = join(dir, 'notgguf.bin');
    await writeFile(path, 'hello world, not a model');
    await expect(readGgufFile(path)).rejects.toThrow(/notgguf\.bin: at byte 0: bad magic/);
    await expect(readGgufFile(join(dir, 'missing.gguf'))).rejects.toThrow(/missing\.gguf: cannot open/);
  });

  it('copies with edits to a new file and refuses to overwrite the source', async () => {
    const a = join(dir, 'a.gguf');
    const b = join(dir, 'b.gguf');
    await writeGgufFile(a, spec());
    const before = await readFile(a);
    const g = await readGgufFile(a);
    await copyGgufFileWithEdits(a, [{ tensor: 'token_embd.weight', byteOffset: 2, bytes: new Uint8Array([0xff]) }], b);
    const after = await readFile(b);
    expect(after[g.tensor('token_embd.weight').offset + 2]).toBe(0xff);
    after[g.tensor('token_embd.weight').offset + 2] = before[g.tensor('token_embd.weight').offset + 2]!;
    expect(after.equals(before)).toBe(true);
    await expect(copyGgufFileWithEdits(a, [], a)).rejects.toThrow(/output is the input file/);
    expect((await readFile(a)).equals(before)).toBe(true);
  });

  it('agrees with the independent @huggingface/gguf reader on metadata and tensor infos', async () => {
    const path = join(dir, 'hf.gguf');
    await writeGgufFile(path, spec());
    const ours = await readGgufFile(path);
    const theirs = await hfGguf(path, { allowLocalFile: true });
    const hfMeta = theirs.metadata as Record<string, unknown>;
    for (const [key, v] of ours.metadata) {
      const want = plainValue(v);
      const got = hfMeta[key];
      if (v.type === 'f32') expect(got).toBe(Math.fround(want as number));
      else expect(Array.isArray(got) ? got : got).toEqual(want);
    }
    expect(Number(hfMeta.tensor_count)).toBe(ours.tensors.length);
    expect(Number(theirs.tensorDataOffset)).toBe(ours.dataOffset);
    expect(theirs.tensorInfos.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape.map(Number), offset: Number(t.offset) })))
      .toEqual(ours.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, offset: t.relativeOffset })));
  });
});
