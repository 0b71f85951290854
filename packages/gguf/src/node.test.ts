import { gguf as hfGguf } from '@huggingface/gguf';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileAccessError, copyGgufFileWithEdits, fileSink, fileSource, readGgufFile, sha256File, sweepStaleTempFiles, writeFileAtomic, writeGgufFile,
} from './node.js';
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
    await expect(readGgufFile(join(dir, 'missing.gguf'))).rejects.toThrow(/missing\.gguf: cannot open: no such file. Fix: check the path/);
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
    // an output folder that does not exist: a typed error, and the source is not left open
    const openFiles = async () => (await readdir('/proc/self/fd').catch(() => [])).length;
    const fds = await openFiles();
    await expect(copyGgufFileWithEdits(a, [], join(dir, 'no', 'such', 'c.gguf'))).rejects.toThrow(FileAccessError);
    expect(await openFiles()).toBe(fds);
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

  it('names a directory, a missing file and a missing output folder with the fix, as FileAccessError', async () => {
    await expect(fileSource(dir)).rejects.toThrow(FileAccessError);
    await expect(fileSource(dir)).rejects.toThrow(/cannot open: is a directory, not a file\. Fix: pass the path of a file/);
    await expect(readGgufFile(dir)).rejects.toThrow(/is a directory/);
    await expect(sha256File(dir)).rejects.toThrow(/is a directory, not a file/);
    await expect(sha256File(join(dir, 'nope'))).rejects.toThrow(/nope: no such file\. Fix: check the path/);
    await expect(writeFileAtomic(join(dir, 'no', 'such', 'x.json'), 'x')).rejects.toThrow(/x\.json: cannot write: the folder .*such does not exist\. Fix: create the folder/);
    await mkdir(join(dir, 'sub'));
    await expect(writeFileAtomic(join(dir, 'sub'), 'x', { overwrite: true })).rejects.toThrow(/sub: is a directory\. Fix: choose an output file path/);
  });
});

// A process that starts an atomic write and waits to be killed.
const WRITER = `
import { fileSink } from ${JSON.stringify(new URL('../dist/node.js', import.meta.url).href)};
const sink = await fileSink(process.argv[1]);
await sink.write(new Uint8Array(1 << 16));
process.stdout.write(sink.tempPath + '\\n');
setInterval(() => {}, 1000);
`;

describe('counts in the header size nothing', () => {
  it('refuses a metadata array of 100M strings in a 1 GB file before allocating for it', async () => {
    const path = join(dir, 'sparse.gguf');
    const h = new DataView(new ArrayBuffer(4 + 4 + 8 + 8 + 8 + 1 + 4 + 4 + 8));
    let o = 0;
    h.setUint32(o, 0x46554747, true); o += 4; // GGUF
    h.setUint32(o, 3, true); o += 4;
    h.setBigUint64(o, 0n, true); o += 8; // tensors
    h.setBigUint64(o, 1n, true); o += 8; // one key
    h.setBigUint64(o, 1n, true); o += 8; // its length
    h.setUint8(o, 0x6b); o += 1; // "k"
    h.setUint32(o, 9, true); o += 4; // array
    h.setUint32(o, 8, true); o += 4; // of strings
    h.setBigUint64(o, 100_000_000n, true); // 100M of them: 800 MB of lengths alone, and the file has room
    await writeFile(path, new Uint8Array(h.buffer));
    await truncate(path, 1 << 30); // sparse: zeros, nothing written
    const before = process.memoryUsage().heapUsed;
    await expect(readGgufFile(path)).rejects.toThrow(/sparse\.gguf: at byte 41: array "k" claims 100000000 items of string .* more than any GGUF metadata/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 << 20);
  });
});

describe('interrupted writes leave nothing behind', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`a writer killed by ${signal} removes its temp file and dies of the signal`, async () => {
      const target = join(dir, `killed-${signal}.gguf`);
      const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, target], { stdio: ['ignore', 'pipe', 'inherit'] });
      const tempPath = await new Promise<string>((res) => child.stdout.once('data', (d: Buffer) => res(d.toString().trim())));
      expect((await readdir(dir)).some((f) => tempPath.endsWith(f))).toBe(true);
      const exited = new Promise<NodeJS.Signals | null>((res) => child.once('exit', (_code, sig) => res(sig)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      expect((await readdir(dir)).filter((f) => f.includes(`killed-${signal}`))).toEqual([]);
    });
  }

  it('sweeps the temp files of dead writers to the same target, and only those', async () => {
    const sub = join(dir, 'sweep');
    await mkdir(sub);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid is free
    const stale = `.m.gguf.${dead}.0badf00d.tmp`;
    const live = `.m.gguf.${process.pid}.00000000.tmp`;
    const other = `.n.gguf.${dead}.0badf00d.tmp`;
    for (const f of [stale, live, other]) await writeFile(join(sub, f), 'partial');
    expect(await sweepStaleTempFiles(join(sub, 'm.gguf'))).toEqual([join(sub, stale)]);
    expect((await readdir(sub)).sort()).toEqual([live, other].sort());
    // every atomic write sweeps before it starts
    await writeFile(join(sub, stale), 'partial');
    const sink = await fileSink(join(sub, 'm.gguf'));
    await sink.abort();
    expect((await readdir(sub)).sort()).toEqual([live, other].sort());
  });
});
