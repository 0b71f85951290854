// Study (not a test): do high-scale rows move the target gap more than random rows?
// The upstream paper reports that flipping high-scale rows moves the target gap 3.88x more than
// random rows on Bonsai 8B. Here, on the shipped tiny model (or a random Bonsai-1.7B shape, where
// scales carry no learned meaning), for one skill's SEARCH probes:
//
//   top      the K rows of largest scale (mean fp16 d over the row's groups) in the space
//   random   K distinct rows drawn uniformly from the same space (seeded)
//   matched  for each top row, one other random row of the same tensor (seeded): same layers
//            and projections in the same proportions, so only the scale differs
//
// Each row is flipped alone (a virtual flip in the search Evaluator, on the unpatched model) and
// |mean target gap with the flip - mean target gap without| is recorded. Printed: the mean of
// that per group, the ratios top/random and top/matched with 95% percentile-bootstrap intervals
// (both groups resampled independently), and the fraction of flips that raise the gap.
//
// Usage: npx tsx bench/scale-ratio.ts [--skill multiplication --k 64 --metric seq_logprob|token_gap
//          --layers all --projs gate,up,down --seed 1 --bootstrap 2000 --workers 1 --model tiny|small|1.7b]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { prepareProbes, shippedModel, shippedProbeSpec, type Metric, type Probe, type ShippedModelName, type SkillName } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { CandidateSpace, Evaluator, parseLayers, PROJECTIONS, Rng, scaleOrder, type Projection } from '@bankai/search';

const here = dirname(fileURLToPath(import.meta.url));
helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    skill: { type: 'string', default: 'multiplication' },
    k: { type: 'string', default: '64' },
    metric: { type: 'string', default: 'seq_logprob' },
    layers: { type: 'string' },
    projs: { type: 'string', default: 'gate,up,down' },
    seed: { type: 'string', default: '1' },
    bootstrap: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '1' },
    model: { type: 'string', default: 'tiny' },
  },
});
const K = Number(args.k);
const SEED = Number(args.seed);
const B = Number(args.bootstrap);
const metric = args.metric as Metric;
if (!(Number.isInteger(K) && K >= 2)) throw new Error(`--k must be an integer >= 2, got ${args.k}`);
if (metric !== 'token_gap' && metric !== 'seq_logprob') throw new Error(`--metric must be token_gap or seq_logprob, got ${args.metric}`);
const projs = args.projs!.split(',').map((p) => p.trim()) as Projection[];
for (const p of projs) if (!PROJECTIONS.includes(p)) throw new Error(`--projs: unknown projection "${p}"; use ${PROJECTIONS.join(',')}`);
const big = args.model === '1.7b';
if (!big && args.model !== 'tiny' && args.model !== 'small') throw new Error(`--model must be tiny, small or 1.7b, got ${args.model}`);

/** Made-up probes for the random 1.7B shape (its answers are noise; the study is then a sanity check). */
const BIG_TARGET: Probe[] = [
  { name: 'big_t0', category: 'made-up', prompt: 'Q: what is the capital of France? A:', correct: ' Paris', wrong: ' Rome' },
  { name: 'big_t1', category: 'made-up', prompt: 'Q: what is two plus two? A:', correct: ' four', wrong: ' five' },
  { name: 'big_t2', category: 'made-up', prompt: 'The sun rises in the', correct: ' east', wrong: ' west' },
];

// ---- model, probes, space -----------------------------------------------------------------------
const path = big ? join(here, 'out', 'bonsai-1.7b.gguf') : shippedModel(args.model!).modelPath;
if (!existsSync(path)) throw new Error(`${path} is missing: run \`npx tsx bench/search.ts --models 1.7b\` once to generate it`);
const src = await fileSource(path);
const model = await Model.load(src, { maxContext: 64 });
await src.close();
const probes = big ? BIG_TARGET : (await readProbeFile(shippedProbeSpec(args.model as ShippedModelName, args.skill as SkillName, 'SEARCH'))).probes;
const target = prepareProbes(model.tokenizer, probes);
// token_gap compares first answer tokens only: a probe whose answer and distractor share theirs scores 0 whatever is flipped
const sameFirst = target.filter((p) => p.wrongTokens.length > 0 && p.wrongTokens[0]![0] === p.correctTokens[0]![0]).length;
// default layers: every layer of the tiny model; the last two of the 1.7B shape (28 full layers a flip is too slow here)
const layers = parseLayers(args.layers ?? (big ? '-2--1' : 'all'), model.config.nLayer);
const space = new CandidateSpace(model, { layers, projs, granularity: 'row' });
if (3 * K > space.size) throw new Error(`--k ${K}: the space has only ${space.size} rows; pick k <= ${Math.floor(space.size / 3)}`);

// ---- the three groups of rows -------------------------------------------------------------------
const order = scaleOrder(space);
const top = Array.from(order.subarray(0, K));
const inTop = new Set(top);
const rng = new Rng(SEED);
const random: number[] = [];
const picked = new Set<number>();
while (random.length < K) {
  const i = rng.int(space.size);
  if (!picked.has(i)) {
    picked.add(i);
    random.push(i);
  }
}
const matchRng = new Rng(SEED + 1);
const matched: number[] = [];
const taken = new Set<number>();
for (const i of top) {
  const t = space.tensors.find((x) => i >= x.offset && i < x.offset + x.count)!;
  let j: number;
  do j = t.offset + matchRng.int(t.count);
  while (inTop.has(j) || taken.has(j));
  taken.add(j);
  matched.push(j);
}

// ---- evaluate every single-row flip on the targets ----------------------------------------------
const ev = await Evaluator.create(model, target, [], { workers: Number(args.workers), metric, firstLayer: space.firstLayer });
const meanGap = (g: Float64Array) => g.reduce((s, x) => s + x, 0) / g.length;
/** Mean target gap of the unpatched model, and per row: mean gap with that row flipped minus it. */
async function measure(groups: number[][]): Promise<{ base: number; deltas: number[][] }> {
  const [b] = await ev.evaluate([{ flips: [], part: 'target' }]);
  const base = meanGap(b!.gaps);
  const deltas: number[][] = [];
  for (const group of groups) {
    const rs = await ev.evaluate(group.map((i) => ({ flips: [space.candidate(i)], part: 'target' as const })));
    deltas.push(rs.map((r) => meanGap(r.gaps) - base));
  }
  return { base, deltas };
}
const t0 = performance.now();
const { base, deltas } = await measure([top, random, matched]).finally(() => ev.destroy());
const [dTop, dRandom, dMatched] = deltas as [number[], number[], number[]];
const seconds = (performance.now() - t0) / 1000;

// ---- statistics ---------------------------------------------------------------------------------
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const abs = (xs: readonly number[]) => xs.map(Math.abs);
const bootRng = new Rng(SEED + 2);
const resample = (xs: readonly number[]) => Array.from({ length: xs.length }, () => xs[bootRng.int(xs.length)]!);
/** 95% percentile-bootstrap interval of mean(a) / mean(b), a and b resampled independently. */
function ratioCi(a: readonly number[], b: readonly number[]): [number, number] {
  const rs = Array.from({ length: B }, () => mean(resample(a)) / mean(resample(b))).sort((x, y) => x - y);
  return [rs[Math.floor(0.025 * (B - 1))]!, rs[Math.ceil(0.975 * (B - 1))]!];
}
function meanCi(a: readonly number[]): [number, number] {
  const ms = Array.from({ length: B }, () => mean(resample(a))).sort((x, y) => x - y);
  return [ms[Math.floor(0.025 * (B - 1))]!, ms[Math.ceil(0.975 * (B - 1))]!];
}
const scales = (g: readonly number[]) => g.map((i) => space.scale(i));
const fmt = (x: number) => (Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(2));
const ci = ([lo, hi]: [number, number]) => `[${fmt(lo)}, ${fmt(hi)}]`;
const ratio = (a: readonly number[], b: readonly number[]) =>
  mean(b) > 0 ? `${fmt(mean(a) / mean(b))} | ${ci(ratioCi(a, b))}` : 'n/a (no row of the second group moved the gap) | ';
const perProj = (g: readonly number[]) => {
  const counts = new Map<string, number>();
  for (const i of g) {
    const t = space.tensors.find((x) => i >= x.offset && i < x.offset + x.count)!;
    counts.set(t.proj, (counts.get(t.proj) ?? 0) + 1);
  }
  return [...counts].map(([p, n]) => `${p} ${n}`).join(', ');
};

const name = big ? 'random Bonsai-1.7B shape (bench/out/bonsai-1.7b.gguf)' : `${args.model} model (@bankai/${args.model}-model)`;
console.log(`# High-scale vs random row flips: ${name}`);
console.log(`# target ${big ? `${probes.length} made-up probes` : `${args.skill!.toUpperCase()}_SEARCH (${probes.length} probes)`}, metric ${metric}, ` +
  `layers ${layers.join(',')}, projections ${projs.join(',')}: ${space.size} rows; K = ${K}, seed ${SEED}, ${B} bootstrap resamples; ${3 * K} flips evaluated in ${seconds.toFixed(1)} s`);
console.log(`# mean target gap of the unpatched model: ${fmt(base)}`);
if (metric === 'token_gap' && sameFirst > 0) console.log(`# WARNING: ${sameFirst} of ${target.length} probes share the answer's first token with the distractor: their token_gap is 0 under any flip`);
console.log('');
console.log('| rows | K | scale min..max (mean) | mean abs change of the mean target gap [95% CI] | mean signed change | share raising the gap | projections |');
console.log('| --- | ---: | --- | --- | ---: | ---: | --- |');
const rows: [string, number[], number[]][] = [['top by scale', top, dTop], ['random (uniform over the space)', random, dRandom], ['matched random (same tensor as each top row)', matched, dMatched]];
for (const [label, g, d] of rows) {
  const s = scales(g);
  console.log(`| ${label} | ${g.length} | ${fmt(Math.min(...s))}..${fmt(Math.max(...s))} (${fmt(mean(s))}) | ${fmt(mean(abs(d)))} ${ci(meanCi(abs(d)))} | ${fmt(mean(d))} | ${(d.filter((x) => x > 0).length / d.length).toFixed(2)} | ${perProj(g)} |`);
}
console.log('');
console.log('| ratio of mean abs change | value | 95% bootstrap CI |');
console.log('| --- | ---: | --- |');
console.log(`| top / random | ${ratio(abs(dTop), abs(dRandom))} |`);
console.log(`| top / matched random | ${ratio(abs(dTop), abs(dMatched))} |`);
console.log('(paper, Bonsai 8B: top / random = 3.88)');
