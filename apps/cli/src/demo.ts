// `bankai demo`: the main job on the shipped tiny model (or any model): load, generate, score,
// and show the core idea: a row flip negates one neuron exactly, virtually or in place, and the
// same XOR reverts it.

import { CliError, type Flags } from './args.js';
import { openModel, type Command } from './commands.js';

const DEFAULT_PROMPTS = [
  ['Q: what is 92+30? A:', ' 122'],
  ['Q: is 91 prime? A:', ' no'],
] as const;

async function tinyModelPath(): Promise<string> {
  try {
    const tiny = await import('@bankai/tiny-model');
    return tiny.modelPath;
  } catch (e) {
    throw new CliError(`bankai demo: the shipped tiny model is not available (${(e as Error).message}); run \`npm run setup\` or pass --model FILE.`);
  }
}

export const demo: Command = {
  summary: 'the main job on the shipped tiny 1-bit model: generate, score, flip a row and revert it',
  usage: 'bankai demo [--model FILE] [--prompt TEXT --answer TEXT]',
  flags: {
    model: { type: 'string', value: 'FILE', help: 'a Qwen3 GGUF (default: the shipped tiny model)' },
    prompt: { type: 'string', value: 'TEXT', help: 'a prompt to generate from and score' },
    answer: { type: 'string', value: 'TEXT', help: 'the answer to score after --prompt (teacher-forced log-prob)' },
  },
  async run(flags: Flags, out) {
    const path = (flags.model as string | undefined) ?? (await tinyModelPath());
    const t0 = performance.now();
    const model = await openModel(path);
    const c = model.config;
    out(`model  ${path}`);
    out(`       ${c.nLayer} layers, n_embd ${c.nEmbd}, n_ff ${c.nFf}, heads ${c.nHead}/${c.nHeadKv}x${c.headDim}, vocab ${c.vocabSize}; loaded in ${(performance.now() - t0).toFixed(0)} ms`);
    const pairs = flags.prompt !== undefined ? [[flags.prompt as string, (flags.answer as string | undefined) ?? '']] : DEFAULT_PROMPTS;

    out('\n1. greedy generation (stops at the newline)');
    for (const [prompt] of pairs) {
      const t = performance.now();
      const g = model.generate(prompt!, { maxTokens: 24 });
      out(`   ${JSON.stringify(prompt)} -> ${JSON.stringify(g.text)}   (${g.tokens.length} tokens, ${(performance.now() - t).toFixed(1)} ms)`);
    }

    const scored = pairs.filter(([, a]) => a);
    if (scored.length === 0) return;
    const [prompt, answer] = scored[0]!;
    out('\n2. teacher-forced score of an answer (log-prob of the answer tokens, in context)');
    const base = model.score(prompt!, answer!);
    out(`   log p(${JSON.stringify(answer)} | ${JSON.stringify(prompt)}) = ${base.logprob.toFixed(4)}  (${base.answerTokens.length} tokens)`);

    // 3. flip the highest-scale row of the last layer's ffn_down: the neuron's output is negated
    const layer = model.weights.layers[c.nLayer - 1]!;
    const down = layer.down;
    if (down.kind !== 'q1') {
      out('\n(the model is not 1-bit: no flips to show)');
      return;
    }
    const e = model.engine;
    let row = 0;
    for (let r = 1; r < down.rows; r++) if (e.q1RowScale(down.tensor, r) > e.q1RowScale(down.tensor, row)) row = r;
    out(`\n3. flip row ${row} of blk.${c.nLayer - 1}.ffn_down (${down.cols} bits, the highest-scale row)`);
    const flips = e.writeFlips([row], []);
    model.runner.setVirtualFlips(new Map([[down.name, flips]]));
    const virt = model.score(prompt!, answer!);
    model.runner.setVirtualFlips(new Map());
    out(`   virtual flip (weights untouched):  ${virt.logprob.toFixed(4)}  (change ${(virt.logprob - base.logprob).toFixed(4)})`);
    const rows = e.alloc(4);
    e.i32(rows, 1)[0] = row;
    const t1 = performance.now();
    e.xorRows(down.tensor, rows, 1);
    const xorMicros = (performance.now() - t1) * 1000;
    const applied = model.score(prompt!, answer!);
    out(`   applied in place by XOR (${xorMicros.toFixed(1)} us): ${applied.logprob.toFixed(4)}  ${applied.logprob === virt.logprob ? '(identical to the virtual flip)' : '(DIFFERS from the virtual flip!)'}`);
    e.xorRows(down.tensor, rows, 1);
    const reverted = model.score(prompt!, answer!);
    out(`   reverted by the same XOR:          ${reverted.logprob.toFixed(4)}  ${reverted.logprob === base.logprob ? '(identical to the original)' : '(DIFFERS from the original!)'}`);
    if (applied.logprob !== virt.logprob || reverted.logprob !== base.logprob) process.exitCode = 1;
  },
};
