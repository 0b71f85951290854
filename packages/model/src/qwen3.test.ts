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

  it('evaluates from a layer\'s MLP stage exactly like from its input residual, with flips in that MLP and above', async () => {
    const m = await smallModel();
    const e = m.engine;
    const r = m.runner;
    const c = m.config;
    const n = tokens.length;
    const residual = e.alloc(n * c.nEmbd * 4);
    const stage = { xMid: e.alloc(n * c.nEmbd * 4), act: e.alloc(n * c.nFf * 4) };
    const lw = m.weights.layers[1]!;
    const above = m.weights.layers[2]!;
    // flip sets (row flips, group flips, the same row in gate and up, a row listed twice, flips above)
    const candidates: [string, readonly number[], readonly (readonly [number, number])[]][][] = [
      [],
      [[lw.gate.name, [7, 100], []]],
      [[lw.up.name, [3], [[9, 0], [10, 0]]]],
      [[lw.gate.name, [5], []], [lw.up.name, [5], [[6, 0]]]],
      [[lw.down.name, [2, 40], [[11, 0]]]],
      [[lw.gate.name, [8, 8], []], [lw.down.name, [1], []], [above.q.name, [4], []], [above.up.name, [12], []]],
    ];
    for (const layer of [0, 1, 2]) {
      const stops = [{ layer, dst: residual }, { layer, mlp: stage }];
      r.captureResiduals(tokens, 0, undefined, stops);
      const lwl = m.weights.layers[layer]!;
      for (const cand of candidates) {
        // the candidates' tensors of layer 1 moved to `layer` (flips above it stay above)
        const rename = (name: string) => name.replace(/^blk\.1\./, `blk.${layer}.`);
        if (cand.some(([name]) => Number(/^blk\.(\d+)\./.exec(rename(name))![1]) < layer)) continue;
        if (layer === 2 && cand.some(([name]) => name === above.q.name)) continue; // attention of the stage's own layer
        r.setVirtualFlips(new Map(cand.map(([name, rows, groups]) => [rename(name), e.writeFlips(rows, groups)])));
        const want = r.forwardFromResidual(residual, n, layer, 3).slice();
        expect(r.forwardFromMlp(stage, n, layer, 3), `layer ${layer}, ${JSON.stringify(cand)}`).toEqual(want);
        // a shared prefix: positions 0..4 first, then the rest on top of the cache
        r.forwardFromMlp(stage, 5, layer, 5);
        const xMid = stage.xMid + 5 * c.nEmbd * 4;
        const act = stage.act + 5 * c.nFf * 4;
        expect(r.forwardFromMlp({ xMid, act }, n - 5, layer, 0, 5)).toEqual(want.subarray(2 * c.vocabSize));
      }
      r.setVirtualFlips(new Map([[lwl.k.name, e.writeFlips([1], [])]]));
      expect(() => r.forwardFromMlp(stage, n, layer, 3)).toThrow(/attn_k|has virtual flips/);
      r.setVirtualFlips(new Map());
    }
    // the flips really change the logits (the test compares something)
    r.captureResiduals(tokens, 0, undefined, [{ layer: 1, mlp: stage }]);
    const plain = r.forwardFromMlp(stage, n, 1, 3).slice();
    r.setVirtualFlips(new Map([[lw.gate.name, e.writeFlips([7, 100], [])]]));
    expect(r.forwardFromMlp(stage, n, 1, 3)).not.toEqual(plain);
    r.setVirtualFlips(new Map());
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
