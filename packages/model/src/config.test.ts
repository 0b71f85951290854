// Corrupt hyper-parameters are ModelConfigErrors naming the key, before anything is sized by them.
import { describe, expect, it } from 'vitest';
import { ModelConfigError, qwen3TensorShapes, readQwen3Config } from './config.js';

const META: Record<string, unknown> = {
  'general.architecture': 'qwen3',
  'qwen3.block_count': 2,
  'qwen3.embedding_length': 128,
  'qwen3.feed_forward_length': 256,
  'qwen3.attention.head_count': 2,
  'qwen3.attention.head_count_kv': 1,
  'qwen3.attention.key_length': 64,
};
const EMBD = { name: 'token_embd.weight', shape: [128, 300] };
const TENSORS = [...qwen3TensorShapes(readQwen3Config((k) => META[k], [EMBD, EMBD]))].map(([name, shape]) => ({ name, shape }));

const read = (over: Record<string, unknown>) => () => readQwen3Config((k) => (k in over ? over[k] : META[k]), TENSORS, 'm.gguf');

describe('readQwen3Config', () => {
  it('reads a consistent header', () => {
    expect(read({})()).toMatchObject({ nLayer: 2, nEmbd: 128, headDim: 64, vocabSize: 300, tiedOutput: true });
  });

  it('refuses counts that are not integers, and a layer count larger than the file', () => {
    const started = performance.now();
    expect(read({ 'qwen3.block_count': 1e9 })).toThrow(ModelConfigError);
    expect(read({ 'qwen3.block_count': 1e9 })).toThrow(/m\.gguf: qwen3\.block_count is 1000000000 but the file has only \d+ tensors/);
    expect(performance.now() - started).toBeLessThan(1000); // nothing was sized by it
    expect(read({ 'qwen3.block_count': 2.5 })).toThrow(/block_count = 2\.5 is not an integer/);
    expect(read({ 'qwen3.embedding_length': 128.5 })).toThrow(/embedding_length = 128\.5 is not an integer/);
    expect(read({ 'qwen3.context_length': 2 ** 60 })).toThrow(/context_length = .* is not an integer/);
    expect(read({ 'qwen3.feed_forward_length': [1, 2] })).toThrow(/feed_forward_length = an array is not a positive number/);
  });

  it('refuses an empty vocabulary (token_embd with 0 rows) before anything is laid out', () => {
    const empty = TENSORS.map((t) => (t.name === 'token_embd.weight' ? { ...t, shape: [128, 0] } : t));
    expect(() => readQwen3Config((k) => META[k], empty, 'm.gguf')).toThrow(ModelConfigError);
    expect(() => readQwen3Config((k) => META[k], empty, 'm.gguf')).toThrow(/token_embd\.weight has 0 rows/);
  });
});
