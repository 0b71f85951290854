import { describe, expect, it } from 'vitest';
import {
  QWEN3_BLOCK_TENSORS, QWEN3_PROJECTION_TENSOR, QWEN3_PROJECTIONS, qwen3BlockTensor, qwen3BlockTensorOf, qwen3ProjectionOf, qwen3Tensors,
} from './qwen3.js';
import { GGML_TYPE, GGML_TYPES, ggmlTypeInfo, Q1_0_BLOCK, Q1_0_BYTES, Q1_0_SCALE_BYTES } from './types.js';

// Bonsai 4B: head_dim 128 != n_embd / n_head = 80, so q/k/v/o widths come from head_dim
const B4 = { nLayer: 36, nEmbd: 2560, nFf: 9728, nHead: 32, nHeadKv: 8, headDim: 128, vocab: 151936 };

describe('the Qwen3 tensor plan', () => {
  it('lists token_embd, 11 tensors a block in forward order, output_norm, and output unless tied', () => {
    const untied = qwen3Tensors({ ...B4, tied: false });
    expect(untied).toHaveLength(1 + 36 * 11 + 2);
    expect(untied[0]).toEqual({ tensor: 'token_embd', name: 'token_embd.weight', key: 'embd', kind: 'linear', shape: [2560, 151936] });
    expect(untied.slice(1, 12).map((t) => t.name)).toEqual([
      'blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.0.attn_q_norm.weight',
      'blk.0.attn_k_norm.weight', 'blk.0.attn_output.weight', 'blk.0.ffn_norm.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight',
      'blk.0.ffn_down.weight',
    ]);
    expect(untied.at(-2)!.name).toBe('output_norm.weight');
    expect(untied.at(-1)).toEqual({ tensor: 'output', name: 'output.weight', key: 'output', kind: 'linear', shape: [2560, 151936] });
    const tied = qwen3Tensors({ ...B4, tied: true });
    expect(tied.map((t) => t.name)).toEqual(untied.slice(0, -1).map((t) => t.name));
    expect(new Set(untied.map((t) => t.name)).size).toBe(untied.length);
    expect(untied.filter((t) => t.layer === 35)).toHaveLength(11);
  });

  it('gives every shape ne0 first in terms of the config (head_dim, not n_embd / n_head)', () => {
    const at = (local: string) => qwen3Tensors({ ...B4, nLayer: 1, tied: true }).find((t) => t.tensor === `blk.0.${local}`)!.shape;
    expect(at('attn_q')).toEqual([2560, 32 * 128]);
    expect(at('attn_k')).toEqual([2560, 8 * 128]);
    expect(at('attn_v')).toEqual([2560, 8 * 128]);
    expect(at('attn_output')).toEqual([32 * 128, 2560]);
    expect(at('ffn_gate')).toEqual([2560, 9728]);
    expect(at('ffn_up')).toEqual([2560, 9728]);
    expect(at('ffn_down')).toEqual([9728, 2560]);
    expect(at('attn_q_norm')).toEqual([128]);
    expect(at('attn_norm')).toEqual([2560]);
    for (const t of QWEN3_BLOCK_TENSORS) expect(t.shape(B4).length).toBe(t.kind === 'linear' ? 2 : 1);
  });

  it('names the seven projections and maps them both ways; other names are not projections', () => {
    expect(QWEN3_PROJECTIONS).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
    expect(QWEN3_PROJECTION_TENSOR).toEqual({ q: 'attn_q', k: 'attn_k', v: 'attn_v', o: 'attn_output', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down' });
    for (const p of QWEN3_PROJECTIONS) {
      expect(qwen3ProjectionOf(QWEN3_PROJECTION_TENSOR[p])).toBe(p);
      expect(qwen3BlockTensorOf(p).local).toBe(QWEN3_PROJECTION_TENSOR[p]);
    }
    for (const name of ['attn_norm', 'attn_q_norm', 'output', 'token_embd', '__proto__', 'constructor', 'toString', '']) {
      expect(qwen3ProjectionOf(name)).toBeUndefined();
    }
    expect(qwen3BlockTensor('constructor')).toBeUndefined();
    expect(qwen3BlockTensor('ffn_norm')?.kind).toBe('norm');
  });
});

describe('the Q1_0 entry of the type table', () => {
  it('is the one the exported constants name: id 41, 128 weights, 2 + 16 bytes a block', () => {
    const q1 = ggmlTypeInfo(GGML_TYPE.Q1_0)!;
    expect(q1).toBe(GGML_TYPES.find((t) => t.name === 'Q1_0'));
    expect([q1.id, q1.blockSize, q1.typeSize]).toEqual([41, Q1_0_BLOCK, Q1_0_BYTES]);
    expect([Q1_0_BLOCK, Q1_0_BYTES, Q1_0_SCALE_BYTES]).toEqual([128, 18, 2]);
    expect(Q1_0_SCALE_BYTES + Q1_0_BLOCK / 8).toBe(Q1_0_BYTES);
  });
});
