// Benchmark (not a test): the engine as a WebAssembly component (jco bindings, in this process)
// against the Node engine (@bankai/model in this thread: one worker's work), measured in one run.
//
//   size     the component (.wasm) and its jco JavaScript, against the core engine.wasm plus the
//            built JavaScript of the packages the TS path runs (engine-wasm, gguf, model,
//            patch-format; their npm dependencies not counted)
//   load     GGUF bytes in memory -> a model ready to score (component: Model.load(bytes), which
//            also hashes the file; TS: Model.load(bytesSource(bytes)))
//   score    tokens/s of the full log-softmax after every position (logprobs) of 32-token
//            sequences, result lifted into JS included (component: list<list<f32>>)
//   decode   tokens/s of greedy generation (the same tokens on both sides: checked)
// Each side runs `--rounds` interleaved rounds after one warm-up round; medians are printed with
// their ratio. On a shared machine the small models' ratios move by +-50% between runs.
// Usage: npx tsx bench/component.ts [--models tiny,small,1.7b] [--rounds 5] [--seqs 4]
// Generated models (small: model-gen's 'small' preset; 1.7b: the Bonsai-1.7B shape, 236 MB) go
// into bench/out/ when missing; tiny is the shipped model.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';
import { engine } from '@bankai/engine-wasm/component';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { presetOptions, type PresetName } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import { Rng } from '@bankai/rng';
import { modelPath } from '@bankai/tiny-model';

const here = dirname(fileURLToPath(import.meta.url));
helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,small' },
    rounds: { type: 'string', default: '7' },
    seqs: { type: 'string', default: '4' },
  },
});
const ROUNDS = Number(args.rounds);
const SEQS = Number(args.seqs);
const SEQ_LEN = 32;
const DECODE = 16;
const PROMPT = 'Q: what is the capital of France? A:';

// ---- size -----------------------------------------------------------------------------------------
function dirBytes(dir: string, filter: (f: string) => boolean): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, f);
    if (statSync(p).isFile() && filter(f)) n += statSync(p).size;
  }
  return n;
}
const root = join(here, '..');
const componentWasm = statSync(join(root, 'engine-wasm/build/bankai-engine.component.wasm')).size;
const componentJs = dirBytes(join(root, 'engine-wasm/build/component'), (f) => f.endsWith('.js'));
const coreWasm = statSync(join(root, 'engine-wasm/build/engine.wasm')).size;
const tsJs = ['engine-wasm', 'packages/gguf', 'packages/model', 'packages/patch-format']
  .reduce((s, p) => s + dirBytes(join(root, p, 'dist'), (f) => f.endsWith('.js') && !f.includes('.test.')), 0);
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log('size');
console.log(`  component: ${kb(componentWasm)} .wasm + ${kb(componentJs)} jco JS = ${kb(componentWasm + componentJs)}`);
console.log(`  Node engine: ${kb(coreWasm)} engine.wasm + ${kb(tsJs)} package JS = ${kb(coreWasm + tsJs)}`);
console.log(`  ratio component / Node engine: ${((componentWasm + componentJs) / (coreWasm + tsJs)).toFixed(2)}`);

// ---- models ---------------------------------------------------------------------------------------
const PRESET: Record<string, PresetName> = { small: 'small', '1.7b': 'bonsai-1.7b', '4b': 'bonsai-4b', '8b': 'bonsai-8b' };

async function modelFile(name: string): Promise<string> {
  if (name === 'tiny') return modelPath;
  const preset = PRESET[name];
  if (!preset) throw new Error(`--models: unknown model "${name}" (tiny, ${Object.keys(PRESET).join(', ')})`);
  const out = join(here, 'out');
  mkdirSync(out, { recursive: true });
  const path = join(out, `component-${preset}.gguf`);
  if (!existsSync(path)) {
    console.log(`  generating ${path} ...`);
    await writeQwen3File(path, presetOptions(preset, { seed: 1 }));
  }
  return path;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Side {
  load: number[];
  score: number[];
  decode: number[];
}

for (const name of args.models.split(',')) {
  const path = await modelFile(name);
  const bytes = new Uint8Array(readFileSync(path));
  const sides: Record<'component' | 'node', Side> = { component: { load: [], score: [], decode: [] }, node: { load: [], score: [], decode: [] } };
  let vocab = 0;
  let seqLen = 0;
  let decoded = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    // ---- Node engine ----
    let t = performance.now();
    const ts = await Model.load(bytesSource(bytes, name));
    sides.node.load.push((performance.now() - t) / 1000);
    vocab = ts.config.vocabSize;
    const rng = new Rng(round + 1);
    const seqs = Array.from({ length: SEQS }, () => Array.from({ length: Math.min(SEQ_LEN, ts.runner.layout.maxContext) }, () => rng.int(vocab)));
    t = performance.now();
    for (const s of seqs) ts.logprobs(s);
    sides.node.score.push((SEQS * seqs[0]!.length) / ((performance.now() - t) / 1000));
    t = performance.now();
    const want = ts.generate(PROMPT, { maxTokens: DECODE }).tokens;
    seqLen = seqs[0]!.length;
    decoded = want.length;
    sides.node.decode.push(want.length / ((performance.now() - t) / 1000));
    // ---- component ----
    t = performance.now();
    const cm = engine.Model.load(bytes);
    sides.component.load.push((performance.now() - t) / 1000);
    t = performance.now();
    for (const s of seqs) cm.logprobs(Uint32Array.from(s));
    sides.component.score.push((SEQS * seqs[0]!.length) / ((performance.now() - t) / 1000));
    t = performance.now();
    const got = cm.generate(PROMPT, DECODE);
    sides.component.decode.push(want.length / ((performance.now() - t) / 1000));
    const ref = ts.generate(PROMPT, { maxTokens: DECODE }).text;
    if (got !== ref) throw new Error(`${name}: the component generated ${JSON.stringify(got)}, @bankai/model ${JSON.stringify(ref)}`);
    cm[Symbol.dispose]();
  }
  // round 0 warms both sides up (JIT, memory growth) and is not counted
  for (const side of Object.values(sides)) for (const xs of Object.values(side)) xs.shift();
  const row = (what: keyof Side, unit: string, digits: number, higherIsBetter: boolean) => {
    const c = median(sides.component[what]);
    const n = median(sides.node[what]);
    const ratio = higherIsBetter ? c / n : n / c;
    console.log(`  ${what.padEnd(7)} component ${c.toFixed(digits)} ${unit}, Node engine ${n.toFixed(digits)} ${unit}: component speed ${ratio.toFixed(2)}x`);
  };
  console.log(`${name} (${kb(bytes.length)} GGUF, vocab ${vocab}; ${SEQS} sequences of ${seqLen} tokens, ${decoded} decoded tokens a round; medians of ${ROUNDS} interleaved rounds)`);
  row('load', 's', 4, false);
  row('score', 'tok/s', 1, true);
  row('decode', 'tok/s', 1, true);
}
