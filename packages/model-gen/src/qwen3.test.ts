import {
  bytesSource, dequantizeQ1_0, encodeGgufHeader, f16ToF32, GGML_TYPE, memorySink, readGguf, readTensorBytes,
  type ByteSource,
} from '@bankai/gguf';
import { gguf as hfGguf } from '@huggingface/gguf';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeQwen3File } from './node.js';
import { generateQwen3, presetOptions, qwen3TensorPlan, qwen3WriteSpec, validateQwen3Options, type Qwen3GenOptions } from './qwen3.js';

async function generate(o: Qwen3GenOptions): Promise<Uint8Array> {
  const sink = memorySink();
  await generateQwen3(o, sink);
  return sink.bytes();
}

/** Index of the first differing value (-1 when equal and of the same length). */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const tiny = (over: Partial<Qwen3GenOptions> = {}) => presetOptions('tiny', { seed: 7, ...over });

describe('generateQwen3', () => {
  it('writes the metadata llama.cpp qwen3 expects and consistent tensor shapes', async () => {
    const o = tiny({ tied: false });
    const g = await readGguf(bytesSource(await generate(o), 'tiny.gguf'));
    expect(g.getString('general.architecture')).toBe('qwen3');
    expect(g.alignment).toBe(32);
    expect(g.getU32('general.file_type')).toBe(40);
    expect(g.getU32('qwen3.block_count')).toBe(2);
    expect(g.getU32('qwen3.embedding_length')).toBe(128);
    expect(g.getU32('qwen3.feed_forward_length')).toBe(256);
    expect(g.getU32('qwen3.attention.head_count')).toBe(4);
    expect(g.getU32('qwen3.attention.head_count_kv')).toBe(2);
    expect(g.getU32('qwen3.attention.key_length')).toBe(64);
    expect(g.getU32('qwen3.attention.value_length')).toBe(64);
    expect(g.getF32('qwen3.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-6));
    expect(g.getF32('qwen3.rope.freq_base')).toBe(1e6);
    expect(g.getString('tokenizer.ggml.model')).toBe('gpt2');
    expect(g.getString('tokenizer.ggml.pre')).toBe('qwen2');
    const tokens = g.getStringArray('tokenizer.ggml.tokens');
    expect(tokens.length).toBe(512);
    expect(g.tensor('token_embd.weight').shape).toEqual([128, 512]);
    expect(g.tensor('output.weight').shape).toEqual([128, 512]);
    expect(tokens[g.getU32('tokenizer.ggml.eos_token_id')]).toBe('<|im_end|>');
    expect(g.tensor('blk.1.attn_q.weight').shape).toEqual([128, 256]); // n_head * head_dim = 256
    expect(g.tensor('blk.1.attn_k.weight').shape).toEqual([128, 128]);
    expect(g.tensor('blk.1.attn_output.weight').shape).toEqual([256, 128]);
    expect(g.tensor('blk.1.ffn_down.weight').shape).toEqual([256, 128]);
    expect(g.tensor('blk.1.attn_q_norm.weight').shape).toEqual([64]);
    expect(g.tensors.length).toBe(1 + 2 * 11 + 2);
  });

  it('ties output to token_embd when tied (no output.weight)', async () => {
    const g = await readGguf(bytesSource(await generate(tiny({ tied: true }))));
    expect(g.hasTensor('output.weight')).toBe(false);
    expect(g.tensors.length).toBe(1 + 2 * 11 + 1);
  });

  it('stores every 1-bit weight as Q1_0 with input dim % 128 == 0, norms as F32 near 1', async () => {
    const src = bytesSource(await generate(tiny({ tied: false })));
    const g = await readGguf(src);
    for (const t of g.tensors) {
      if (t.name.endsWith('norm.weight')) {
        expect(t.type).toBe(GGML_TYPE.F32);
        const v = new Float32Array((await readTensorBytes(src, t)).slice().buffer);
        expect(v.every((x) => x >= 0.8 && x < 1.2)).toBe(true);
        expect(new Set(v).size).toBeGreaterThan(v.length / 2); // random, not constant
      } else {
        expect(t.type).toBe(GGML_TYPE.Q1_0);
        expect(t.shape[0]! % 128).toBe(0);
      }
    }
  });

  it('draws sane scales: d in [0.5, 1.5] / sqrt(n_in), about half the bits set', async () => {
    const src = bytesSource(await generate(tiny()));
    const g = await readGguf(src);
    const t = g.tensor('blk.0.ffn_down.weight'); // n_in = 256
    const bytes = await readTensorBytes(src, t);
    let ones = 0;
    for (let b = 0; b < bytes.length / 18; b++) {
      const d = f16ToF32(bytes[b * 18]! | (bytes[b * 18 + 1]! << 8));
      expect(d).toBeGreaterThanOrEqual(0.5 / 16 - 1e-4);
      expect(d).toBeLessThanOrEqual(1.5 / 16 + 1e-4);
      for (let k = 0; k < 16; k++) for (let x = bytes[b * 18 + 2 + k]!; x; x &= x - 1) ones++;
    }
    const frac = ones / (t.nElements);
    expect(frac).toBeGreaterThan(0.45);
    expect(frac).toBeLessThan(0.55);
  });

  it('F32 and F16 twins hold exactly the dequantized 1-bit values, and the same norms', async () => {
    const qSrc = bytesSource(await generate(tiny({ tied: false })));
    const fSrc = bytesSource(await generate(tiny({ tied: false, weights: 'f32' })));
    const hSrc = bytesSource(await generate(tiny({ tied: false, weights: 'f16' })));
    const [q, f, h] = await Promise.all([readGguf(qSrc), readGguf(fSrc), readGguf(hSrc)]);
    expect(f.getU32('general.file_type')).toBe(0);
    expect(h.getU32('general.file_type')).toBe(1);
    for (const qt of q.tensors) {
      const ft = f.tensor(qt.name);
      const ht = h.tensor(qt.name);
      expect(ft.shape).toEqual(qt.shape);
      const qBytes = await readTensorBytes(qSrc, qt);
      const fBytes = await readTensorBytes(fSrc, ft);
      if (qt.type === GGML_TYPE.F32) {
        expect(fBytes).toEqual(qBytes);
        expect(await readTensorBytes(hSrc, ht)).toEqual(qBytes);
        continue;
      }
      expect(ft.type).toBe(GGML_TYPE.F32);
      expect(ht.type).toBe(GGML_TYPE.F16);
      const want = dequantizeQ1_0(qBytes);
      expect(firstMismatch(new Float32Array(fBytes.slice().buffer), want), qt.name).toBe(-1);
      const halves = new Uint16Array((await readTensorBytes(hSrc, ht)).slice().buffer);
      expect(firstMismatch(Float32Array.from(halves, f16ToF32), want), qt.name).toBe(-1);
    }
  });

  it('is deterministic: same seed -> same bytes, other seed -> other weights, same header', async () => {
    const a = await generate(tiny());
    const b = await generate(tiny());
    const c = await generate(tiny({ seed: 8 }));
    expect(b).toEqual(a);
    expect(c.length).toBe(a.length);
    const ga = await readGguf(bytesSource(a));
    const gc = await readGguf(bytesSource(c));
    const t = ga.tensor('blk.0.attn_q.weight');
    expect(await readTensorBytes(bytesSource(c), gc.tensor(t.name))).not.toEqual(await readTensorBytes(bytesSource(a), t));
    expect(gc.getStringArray('tokenizer.ggml.tokens')).toEqual(ga.getStringArray('tokenizer.ggml.tokens'));
  });

  it('validates the 1-bit rule and other dims, naming them', () => {
    expect(() => validateQwen3Options(tiny({ nEmbd: 192 }))).toThrow(/nEmbd 192 .* must be a multiple of 128/);
    expect(() => validateQwen3Options(tiny({ nFf: 200 }))).toThrow(/nFf 200 is the input dim of ffn_down and must be a multiple of 128/);
    expect(() => validateQwen3Options(tiny({ nHead: 3, nHeadKv: 3, headDim: 48 }))).toThrow(/nHead\*headDim 144 .*attn_output/);
    expect(() => validateQwen3Options(tiny({ nHeadKv: 3 }))).toThrow(/nHead 4 must be a multiple of nHeadKv 3/);
    expect(() => validateQwen3Options(tiny({ vocab: 100 }))).toThrow(/vocab 100 must be at least 259/);
    expect(() => validateQwen3Options(tiny({ nLayer: 0 }))).toThrow(/nLayer = 0 must be a positive integer/);
  });

  it('plans the real Bonsai shapes (8B untied, ~1.2 GB of Q1_0) and their headers parse', async () => {
    for (const [name, layers, tied] of [['bonsai-1.7b', 28, true], ['bonsai-4b', 36, true], ['bonsai-8b', 36, false]] as const) {
      const o = presetOptions(name);
      const plan = qwen3TensorPlan(o);
      expect(plan.some((t) => t.name === 'output.weight')).toBe(!tied);
      expect(plan.filter((t) => t.name.endsWith('attn_q.weight')).length).toBe(layers);
      for (const t of plan) if (t.kind === 'linear') expect(t.shape[0] % 128).toBe(0);
      const layout = encodeGgufHeader(qwen3WriteSpec(o));
      // a virtual file: the real header followed by zero-filled tensor data
      const src: ByteSource = {
        name: `${name}.gguf`, size: layout.totalBytes,
        read: async (off, len) => {
          const out = new Uint8Array(len);
          if (off < layout.header.length) out.set(layout.header.subarray(off, Math.min(off + len, layout.header.length)));
          return out;
        },
      };
      const g = await readGguf(src);
      expect(g.getStringArray('tokenizer.ggml.tokens').length).toBe(151936);
      expect(g.tensor('token_embd.weight').shape).toEqual([o.nEmbd, 151936]);
      if (name === 'bonsai-8b') {
        expect(g.tensor('blk.0.attn_q.weight').shape).toEqual([4096, 4096]);
        expect(layout.totalBytes).toBeGreaterThan(1.1e9);
        expect(layout.totalBytes).toBeLessThan(1.3e9);
      }
      if (name === 'bonsai-4b') expect(g.tensor('blk.0.attn_q.weight').shape).toEqual([2560, 4096]);
    }
  });

  it('writes a file atomically that @huggingface/gguf reads the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bankai-model-gen-'));
    try {
      const path = join(dir, 'tiny.gguf');
      await writeQwen3File(path, tiny());
      const ours = await readGguf(bytesSource(await generate(tiny())));
      const theirs = await hfGguf(path, { allowLocalFile: true });
      const m = theirs.metadata as Record<string, unknown>;
      expect(m['general.architecture']).toBe('qwen3');
      expect(m['qwen3.attention.key_length']).toBe(64);
      expect(m['tokenizer.ggml.tokens']).toEqual(ours.getStringArray('tokenizer.ggml.tokens'));
      expect(m['tokenizer.ggml.merges']).toEqual(ours.getStringArray('tokenizer.ggml.merges'));
      expect(theirs.tensorInfos.map((t) => [t.name, t.dtype, t.shape.map(Number)]))
        .toEqual(ours.tensors.map((t) => [t.name, t.type, t.shape]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
