// The Qwen3 tensor plan of @bankai/gguf against the files and the packages that use it: the
// shipped tiny model is laid out in the plan's order, model-gen writes exactly the plan's tensors,
// and what the model loads, the patch shapes and the search space name are the plan's tensors.
import { describe, expect, it } from 'vitest';
import { bytesSource, GGML_TYPE, memorySink, QWEN3_PROJECTION_TENSOR, qwen3Tensors, readGguf, type GgufFile } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { Model, oneBitTensors, qwen3TensorShapes, readModelConfig } from '@bankai/model';
import { generateQwen3, presetOptions } from '@bankai/model-gen';
import { modelShapeOf, qwen3Shape } from '@bankai/patch-format';
import { CandidateSpace, PROJECTIONS } from '@bankai/search';
import { expectedTensors, modelPath } from '@bankai/tiny-model';

function planOf(header: GgufFile) {
  const c = readModelConfig(header);
  return qwen3Tensors({ ...c, vocab: c.vocabSize, tied: c.tiedOutput });
}

describe('the Qwen3 tensor plan', () => {
  it('is the shipped tiny model, tensor by tensor in file order (names, shapes, Q1_0 linears, F32 norms)', async () => {
    const src = await fileSource(modelPath);
    const header = await readGguf(src);
    await src.close();
    const plan = planOf(header);
    expect(header.tensors.map((t) => [t.name, t.shape, t.type])).toEqual(
      plan.map((t) => [t.name, [...t.shape], t.kind === 'linear' ? GGML_TYPE.Q1_0 : GGML_TYPE.F32]),
    );
    const c = readModelConfig(header);
    const tiny = { n_layer: c.nLayer, n_embd: c.nEmbd, n_head: c.nHead, n_head_kv: c.nHeadKv, head_dim: c.headDim, n_ff: c.nFf, context: 1, vocab: c.vocabSize, rope_base: 1, rms_eps: 1 };
    expect(expectedTensors(tiny).map((t) => t.name)).toEqual(header.tensors.map((t) => t.name));
  });

  for (const tied of [true, false]) {
    it(`is what model-gen writes, what the model loads and checks, and what patches see (${tied ? 'tied' : 'untied'})`, async () => {
      const sink = memorySink();
      await generateQwen3(presetOptions('tiny', { tied }), sink);
      const bytes = sink.bytes();
      const header = await readGguf(bytesSource(bytes, 'gen.gguf'));
      const plan = planOf(header);
      // every tensor once, same shapes (model-gen keeps its own order within a block)
      const byName = (ts: readonly { name: string; shape: readonly number[] }[]) => ts.map((t) => [t.name, [...t.shape]]).sort();
      expect(byName(header.tensors)).toEqual(byName(plan));
      expect([...qwen3TensorShapes(readModelConfig(header))]).toEqual(plan.map((t) => [t.name, [...t.shape]]));
      const model = await Model.load(bytesSource(bytes, 'gen.gguf'));
      expect([...oneBitTensors(model.weights).keys()].sort()).toEqual(plan.filter((t) => t.kind === 'linear').map((t) => t.tensor).sort());
      const o = presetOptions('tiny');
      const shape = qwen3Shape({ layers: o.nLayer, nEmbd: o.nEmbd, nFf: o.nFf, nHead: o.nHead, nHeadKv: o.nHeadKv, headDim: o.headDim, vocab: o.vocab, tiedEmbeddings: tied });
      expect(modelShapeOf(header).tensors).toEqual(shape.tensors);
      const space = new CandidateSpace(model, { layers: [1], projs: [...PROJECTIONS], granularity: 'group' });
      expect(space.tensors.map((t) => t.name)).toEqual(PROJECTIONS.map((p) => `blk.1.${QWEN3_PROJECTION_TENSOR[p]}`));
      for (const t of space.tensors) {
        const [cols, rows] = plan.find((x) => x.tensor === t.name)!.shape;
        expect([t.rows, t.cols, t.groups]).toEqual([rows, cols, cols / 128]);
      }
    });
  }
});
