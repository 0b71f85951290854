// The forward pass against itself: batch layouts, the KV cache, incremental evaluation from a
// cached residual and virtual flips must all give the same numbers as the plain full forward.
import { describe, expect, it } from 'vitest';
import { bytesSource, memorySink } from '@bankai/gguf';
import { generateQwen3, presetOptions } from '@bankai/model-gen';
import { Model } from './model.js';

async function smallModel(opts: { maxBatch?: number } = {}): Promise<Model> {
  const sink = memorySink();
  await generateQwen3(presetOptions('tiny', { seed: 5, nLayer: 3 }), sink);
  return Model.load(bytesSource(sink.bytes(), 'tiny.gguf'), { maxContext: 64, ...opts });
}

const tokens = [3, 99, 17, 250, 4, 4, 400, 12, 77, 301, 5, 8];

describe('Qwen3Runner', () => {
  it('gives identical logits in one batch, in chunks, and decoding token by token', async () => {
    const one = await smallModel();
    const chunked = await smallModel({ maxBatch: 5 });
    const V = one.config.vocabSize;
    one.runner.rewind(0);
    const full = one.runner.forward(tokens, 0).slice();
    chunked.runner.rewind(0);
    expect(chunked.runner.forward(tokens, 0)).toEqual(full);
    one.runner.rewind(0);
    one.runner.forward(tokens.slice(0, 4), 4);
    for (let i = 4; i < tokens.length; i++) {
      expect(one.runner.forward([tokens[i]!], 0)).toEqual(full.subarray(i * V, (i + 1) * V));
    }
  });

  it('evaluates from a cached residual exactly like the full forward, for every layer', async () => {
    const m = await smallModel();
    const r = m.runner;
    r.rewind(0);
    const full = r.forward(tokens, 3).slice();
    const residual = m.engine.alloc(tokens.length * m.config.nEmbd * 4);
    for (let layer = 0; layer <= m.config.nLayer; layer++) {
      r.captureResidual(tokens, layer, residual);
      expect(r.forwardFromResidual(residual, tokens.length, layer, 3)).toEqual(full);
      // a shared prefix: positions 0..4 first, then the rest on top of the cache
      r.forwardFromResidual(residual, 5, layer, 5);
      const rest = r.forwardFromResidual(residual + 5 * m.config.nEmbd * 4, tokens.length - 5, layer, 0, 5);
      expect(rest).toEqual(full.subarray(2 * m.config.vocabSize));
    }
  });

  it('a virtual row flip equals the materialized XOR bit for bit, and XOR twice restores', async () => {
    const m = await smallModel();
    const e = m.engine;
    const r = m.runner;
    const gate = m.weights.layers[1]!.gate;
    if (gate.kind !== 'q1') throw new Error('expected 1-bit weights');
    r.rewind(0);
    const before = r.forward(tokens, 0).slice();
    r.setVirtualFlips(new Map([[gate.name, e.writeFlips([7, 100], [])]]));
    r.rewind(0);
    const virtual = r.forward(tokens, 0).slice();
    r.setVirtualFlips(new Map());
    expect(virtual).not.toEqual(before);
    const rows = e.alloc(8);
    e.i32(rows, 2).set([7, 100]);
    e.xorRows(gate.tensor, rows, 2);
    r.rewind(0);
    expect(r.forward(tokens, 0)).toEqual(virtual);
    e.xorRows(gate.tensor, rows, 2);
    r.rewind(0);
    expect(r.forward(tokens, 0)).toEqual(before);
  });
});
