import { describe, expect, it } from 'vitest';
import { dequantizeQ1_0, GGML_TYPE, memorySink, readGguf, readTensorBytes, bytesSource, writeGguf } from '@bankai/gguf';
import { checkTensorIndex, expectedTensors, tinyGgufSpec, type TensorIndex, type TinyConfig } from './gguf-export.js';
import { learnVocab } from './vocab.js';
import { buildCorpus, trainText } from './corpus.js';
import { SplitMix32 as Rng } from '@bankai/rng';

const config: TinyConfig = { n_layer: 1, n_embd: 128, n_head: 2, n_head_kv: 1, head_dim: 64, n_ff: 256, context: 64, vocab: 512, rope_base: 10000, rms_eps: 1e-6 };

/** A random tensors.json/tensors.bin pair as train.py writes it. */
function randomExport(seed: number): { index: TensorIndex; bin: Uint8Array } {
  const rng = new Rng(seed);
  const tensors: TensorIndex['tensors'] = [];
  let offset = 0;
  for (const t of expectedTensors(config)) {
    const nbytes = t.type === 'F32' ? t.shape[0]! * 4 : (t.shape[0]! / 128) * 18 * t.shape[1]!;
    tensors.push({ ...t, offset, nbytes });
    offset += nbytes;
  }
  const bin = new Uint8Array(offset);
  for (const t of tensors) {
    if (t.type === 'F32') new Float32Array(bin.buffer, t.offset, t.nbytes / 4).fill(1.25);
    else
      for (let b = t.offset; b < t.offset + t.nbytes; b += 18) {
        bin[b] = 0x00; // fp16 0.5 = 0x3800, little-endian
        bin[b + 1] = 0x38;
        for (let k = 2; k < 18; k++) bin[b + k] = rng.int(0, 255);
      }
  }
  return { index: { config, tensors }, bin };
}

describe('GGUF export', () => {
  const vocab = learnVocab(trainText(buildCorpus()).slice(0, 300_000));

  it('writes every tensor byte-exactly with Qwen3 and tokenizer metadata', async () => {
    const { index, bin } = randomExport(1);
    const sink = memorySink();
    await writeGguf(sink, tinyGgufSpec(index, bin, vocab, { name: 't', trainSteps: 3, trainSeed: 4, corpusSeed: 5 }));
    const src = bytesSource(sink.bytes(), 't.gguf');
    const file = await readGguf(src);
    expect(file.get('general.architecture').value).toBe('qwen3');
    expect(file.get('qwen3.attention.key_length').value).toBe(64);
    expect(file.get('tokenizer.ggml.pre').value).toBe('qwen2');
    expect(file.get('tokenizer.ggml.tokens').value).toEqual(vocab.tokens);
    expect(file.get('tokenizer.ggml.merges').value).toEqual(vocab.merges);
    expect(file.tensors.map((t) => t.name)).toEqual(index.tensors.map((t) => t.name));
    for (const [i, t] of file.tensors.entries()) {
      const want = index.tensors[i]!;
      expect(t.type).toBe(want.type === 'Q1_0' ? GGML_TYPE.Q1_0 : GGML_TYPE.F32);
      expect(t.shape).toEqual(want.shape);
      expect(await readTensorBytes(src, t)).toEqual(bin.subarray(want.offset, want.offset + want.nbytes));
    }
    // bit 1 = +d, LSB first: the first byte of the first block decides weights 0..7
    const embd = file.tensors[0]!;
    const w = dequantizeQ1_0(await readTensorBytes(src, embd));
    for (let j = 0; j < 8; j++) expect(w[j]).toBe((bin[2]! >> j) & 1 ? 0.5 : -0.5);
  });

  it('rejects an index that does not match the architecture, naming the tensor', () => {
    const { index, bin } = randomExport(2);
    const bad = (edit: (ix: TensorIndex) => void) => {
      const ix: TensorIndex = JSON.parse(JSON.stringify(index));
      edit(ix);
      return () => checkTensorIndex(ix, bin.length);
    };
    expect(bad(() => {})).not.toThrow();
    expect(bad((ix) => (ix.tensors[1]!.name = 'blk.0.attn_q.weight'))).toThrow(/tensors\[1\] \(blk.0.attn_q.weight\): expected tensor blk.0.attn_norm.weight/);
    expect(bad((ix) => (ix.tensors[2]!.shape = [128, 64]))).toThrow(/shape \[128,64\], expected \[128,128\]/);
    expect(bad((ix) => (ix.tensors[3]!.offset = bin.length))).toThrow(/outside tensors.bin/);
    expect(bad((ix) => ix.tensors.pop())).toThrow(/expected 14 for 1 layers/);
    expect(bad((ix) => (ix.config.n_ff = 200))).toThrow(/n_ff = 200 is an input dim of a 1-bit weight and must be a multiple of 128/);
    expect(() => tinyGgufSpec(index, bin, { ...vocab, tokens: vocab.tokens.slice(1) }, { name: 't', trainSteps: 1, trainSeed: 1, corpusSeed: 1 })).toThrow(/511 tokens/);
  });
});
