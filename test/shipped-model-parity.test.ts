// The shipped models (bankai-tiny, bankai-small) against llama.cpp (node-llama-cpp 3.21.1): the Q1_0
// parity check of the foundation on real probe text, and identical greedy answers on held-out
// prompts of every skill.
import { describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { generateGreedy, Model } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { SHIPPED_MODEL_NAMES, shippedModel, shippedProbeSpec } from '@bankai/probes';
import { llamaGenerateGreedyMany } from './llama/client.js';
import { checkQ1Parity } from './llama/parity-check.js';
import { NEAR_TIE, partingGap } from '../packages/tiny-model/src/test-models.js';

describe.each(SHIPPED_MODEL_NAMES)('the shipped %s model in llama.cpp', (name) => {
  const { modelPath, skills } = shippedModel(name);
  async function load(): Promise<Model> {
    const src = await fileSource(modelPath);
    try {
      return await Model.load(src);
    } finally {
      await src.close();
    }
  }

  /** Four held-out prompts of every skill (bankai-small: two; each is ~6x the tiny model's work). */
  const perSkill = name === 'tiny' ? 4 : 2;
  async function heldOut() {
    const out = [];
    for (const skill of skills) out.push(...(await readProbeFile(shippedProbeSpec(name, skill, 'EVAL'))).probes.slice(0, perSkill));
    return out;
  }

  it('log-probs agree with llama.cpp (prompt + answer of held-out probes)', async () => {
    const model = await load();
    const seqs = (await heldOut()).map((p) => model.encode(p.prompt + p.correct));
    const r = await checkQ1Parity(model, modelPath, seqs);
    console.log(`[${name} parity] ${r.agreeing}/${seqs.length} sequences within 1e-4 everywhere; median ${r.median.toExponential(2)}, raw max |dlogprob| = ${r.raw.toExponential(2)}`);
    expect(r.unexplained).toEqual([]);
    expect(r.topMismatch).toEqual([]);
    // half the positions (median) agree closely, where a design error moves every position by 0.2 or
    // more. Trained activations meet more halfway roundings over these 12-20 token sequences than
    // random models over 8 (tiny: 19/28 sequences within 1e-4 everywhere, median 1.9e-6). bankai-small
    // meets one early in most sequences, and a rounding resolved the other way moves every later
    // position a little; how often depends on llama.cpp's SIMD path and so on the CPU (median 3.8e-6
    // on an AVX-512 machine, 1.5e-3 on an AVX2-only one, every deviation explained by a halfway case)
    expect(r.median).toBeLessThanOrEqual(name === 'tiny' ? 1e-5 : 1e-2);
    // bankai-small has 8 layers of 256-768 wide activations, so far more Q8_0 roundings per position
    // and more sequences meet a halfway case somewhere (measured 7/32 within 1e-4 everywhere); every
    // deviation must still be explained by one (checked above), which a design error never is
    if (name === 'tiny') expect(r.agreeing).toBeGreaterThanOrEqual(Math.ceil(seqs.length * 0.5));
  }, 300_000);

  it('greedy answers are identical token for token (up to the newline), but at near-ties', async () => {
    const model = await load();
    const nl = model.encode('\n');
    let parted = 0;
    const probes = await heldOut();
    const prompts = probes.map((p) => model.encode(p.prompt));
    const refs = await llamaGenerateGreedyMany(modelPath, prompts, 12, true);
    for (const [i, p] of probes.entries()) {
      const prompt = prompts[i]!;
      const ref = refs[i]!;
      const ours = generateGreedy(model.runner, prompt, { maxTokens: 12, stopWhen: (ids) => model.decode(ids.slice(-1)).includes('\n') });
      // llama.cpp keeps the newline / end token it stopped on; so do we for the newline
      expect(ours.length, p.name).toBeGreaterThan(0);
      const what = `${p.name}: ${JSON.stringify(model.decode(ours))} vs ${JSON.stringify(model.decode(ref))}`;
      // the two runtimes may part only at a near-tie of the engine's own log-probs (a Q8_0 halfway
      // rounding resolved the other way; the model card lists bankai-small's five)
      const gap = partingGap(model, [...prompt, ...ours], [...prompt, ...ref]);
      if (gap !== undefined) {
        parted++;
        expect(gap, what).toBeLessThan(NEAR_TIE);
      }
      expect(nl.length).toBe(1);
    }
    // tiny: identical everywhere; small: at most one probe in eight parts (measured: 1 of 16)
    expect(parted, 'greedy answers parting from llama.cpp').toBeLessThanOrEqual(name === 'tiny' ? 0 : Math.floor(skills.length * perSkill / 8));
  }, 300_000);
});
