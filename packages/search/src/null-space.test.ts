import { describe, expect, it } from 'vitest';
import { NullSpaceError, nullSpaceOf } from './patch-eval.js';

describe('nullSpaceOf on block names that are no projection', () => {
  it('refuses a block tensor that is a norm or an object property name, with NullSpaceError', () => {
    // the projection of a block name comes from the Qwen3 plan (a Map): 'constructor' or
    // 'toString' used to index a plain object and come back as a function, not an error
    for (const local of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'attn_norm', 'ffn_norm', 'attn_q_norm']) {
      expect(() => nullSpaceOf({ flips: [{ tensor: `blk.1.${local}`, row: 0 }], provenance: { tool: 't' } }), local).toThrow(NullSpaceError);
    }
  });

  it('maps every projection tensor to its projection (from the flips, in first-seen order)', () => {
    const flips = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'].map((t, i) => ({ tensor: `blk.${i}.${t}`, row: 1 }));
    expect(nullSpaceOf({ flips, provenance: { tool: 't' } })).toMatchObject({ layers: [0, 1, 2, 3, 4, 5, 6], source: 'flips' });
    expect([...nullSpaceOf({ flips, provenance: { tool: 't' } }).projs].sort()).toEqual(['down', 'gate', 'k', 'o', 'q', 'up', 'v']);
  });
});
