// Evaluating a patch the way that counts: greedy generation on probes before and after the patch
// (fixed / broken per probe, per category, in total), next to a null: K random patches of the
// same size over the same layers, projections and granularity, evaluated the same way. A fix
// count means something only when it beats what random flips of that size do.
//
//   before      evaluateGeneration once, on the unpatched weights
//   after       xorFlips(patch) -> generate -> xorFlips(patch) again (always reverted)
//   null i      randomPatch(space, flips, rng) -> the same, for i = 0..K-1, one Rng(seed) in order
//
// The weights are changed in place while a patch is measured, so nothing else may use the
// model's engine memory meanwhile (no scoring pool or search evaluator running on it).

import { Q1_0_BLOCK, qwen3ProjectionOf } from '@bankai/gguf';
import { modelShape, xorFlips, type Model } from '@bankai/model';
import {
  bitsFlipped, checkPatchForModel, flipKind, normalize, parseTensorName,
  type Flip, type PatchManifest,
} from '@bankai/patch-format';
import {
  NO_CATEGORY, evaluateGeneration, modelScorer, prepareProbes, scoreProbes,
  type GenerationResult, type Metric, type Probe, type Verdict,
} from '@bankai/probes';
import { Rng } from '@bankai/rng';
import { CandidateSpace, PROJECTIONS, type Candidate, type Granularity, type Projection, type SpaceOptions } from './space.js';

export const DEFAULT_NULL_PATCHES = 20;

export interface NullOptions {
  /** K: random patches to evaluate (default 20). */
  patches?: number;
  seed: number;
  layers: readonly number[];
  projs: readonly Projection[];
  granularity: Granularity;
}

export interface PatchEvalOptions {
  /** Most tokens of greedy generation per probe (it also stops at the newline); default 32. */
  maxTokens?: number;
  ignoreCase?: boolean;
  /** Also the teacher-forced gap of every probe before and after the patch (not for the null). */
  metric?: Metric;
  /** The random-patch null; omitted (or 0 patches): no null. */
  null?: NullOptions;
}

export interface ProbeOutcome {
  output: string;
  verdict: Verdict;
  /** The metric's gap (> 0: the answer beats the distractor), when a metric was asked for. */
  gap?: number;
}

export type Change = 'fixed' | 'broken' | 'same';

export interface ProbeChange {
  probe: Probe;
  before: ProbeOutcome;
  after: ProbeOutcome;
  change: Change;
}

export interface ChangeCounts {
  n: number;
  correctBefore: number;
  correctAfter: number;
  fixed: number;
  broken: number;
  /** fixed - broken. */
  net: number;
}

export interface NullSummary {
  /** K. */
  patches: number;
  /** Flips in each random patch (the patch's own count). */
  flips: number;
  /** Per random patch, in draw order. */
  nets: number[];
  fixed: number[];
  broken: number[];
  medianNet: number;
  maxNet: number;
  medianBroken: number;
  /** Empirical one-sided p: (1 + #{null net >= patch net}) / (K + 1). */
  p: number;
}

export interface PatchEvaluation {
  flips: number;
  total: ChangeCounts;
  /** Per probe category (probes without one under "(none)"), in first-seen order. */
  byCategory: Record<string, ChangeCounts>;
  probes: ProbeChange[];
  /** Mean gap before and after, when a metric was asked for. */
  meanGap?: { before: number; after: number };
  null?: NullSummary & { byCategory: Record<string, NullSummary>; space: SpaceOptions; seed: number };
}

// ---- counting -----------------------------------------------------------------------------------

export function changeOf(before: Verdict, after: Verdict): Change {
  if (before !== 'correct' && after === 'correct') return 'fixed';
  if (before === 'correct' && after !== 'correct') return 'broken';
  return 'same';
}

/** Fixed / broken / net of before-after verdict pairs. */
export function countChanges(pairs: readonly { before: { verdict: Verdict }; after: { verdict: Verdict } }[]): ChangeCounts {
  const c = { n: pairs.length, correctBefore: 0, correctAfter: 0, fixed: 0, broken: 0, net: 0 };
  for (const { before, after } of pairs) {
    if (before.verdict === 'correct') c.correctBefore++;
    if (after.verdict === 'correct') c.correctAfter++;
    const ch = changeOf(before.verdict, after.verdict);
    if (ch === 'fixed') c.fixed++;
    else if (ch === 'broken') c.broken++;
  }
  c.net = c.fixed - c.broken;
  return c;
}

const categoryOf = (p: Probe): string => p.category ?? NO_CATEGORY;

function byCategory<T extends { probe: Probe }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = categoryOf(it.probe);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return groups;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The null's summary for one patch net: median / max of the random nets and the empirical p. */
export function summarizeNull(patchNet: number, flips: number, counts: readonly Pick<ChangeCounts, 'fixed' | 'broken' | 'net'>[]): NullSummary {
  const nets = counts.map((c) => c.net);
  const atLeast = nets.filter((x) => x >= patchNet).length;
  return {
    patches: counts.length,
    flips,
    nets,
    fixed: counts.map((c) => c.fixed),
    broken: counts.map((c) => c.broken),
    medianNet: median(nets),
    maxNet: nets.length === 0 ? 0 : Math.max(...nets),
    medianBroken: median(counts.map((c) => c.broken)),
    p: (1 + atLeast) / (counts.length + 1),
  };
}

// ---- random patches -----------------------------------------------------------------------------

/** `flips` distinct candidates of the space, uniform without replacement (Floyd's algorithm),
 *  in candidate-index order. Deterministic for the generator's state. */
export function randomPatch(space: CandidateSpace, flips: number, rng: Rng): Candidate[] {
  if (!Number.isInteger(flips) || flips < 0) throw new RangeError(`randomPatch: flips must be an integer >= 0, got ${flips}`);
  if (flips > space.size) throw new RangeError(`randomPatch: ${flips} flips asked of a space of ${space.size} candidates`);
  const chosen = new Set<number>();
  for (let j = space.size - flips; j < space.size; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => space.candidate(i));
}

// ---- evaluation ---------------------------------------------------------------------------------

function generationPass(model: Model, probes: readonly Probe[], opts: PatchEvalOptions): GenerationResult[] {
  return evaluateGeneration(model, probes, { maxTokens: opts.maxTokens, ignoreCase: opts.ignoreCase }).results;
}

/** Runs `measure` with `flips` XORed into the weights; the XOR is undone whatever happens. */
function withFlips<T>(model: Model, flips: readonly Flip[], measure: () => T): T {
  xorFlips(model, flips);
  try {
    return measure();
  } finally {
    xorFlips(model, flips);
  }
}

/**
 * Greedy generation on `probes` before and after `flips` (XORed in place, always reverted), and,
 * with `opts.null`, the same for K random patches of the same size drawn from the null's space.
 * The flips are trusted (from the model's own shapes: a search, or a patch checked first, as
 * evaluateManifest does). The model's weights are bit-identical afterwards.
 */
export function evaluatePatch(model: Model, flips: readonly Flip[], probes: readonly Probe[], opts: PatchEvalOptions = {}): PatchEvaluation {
  const gaps = (): number[] | undefined => {
    if (opts.metric === undefined) return undefined;
    return scoreProbes(modelScorer(model), prepareProbes(model, probes), opts.metric).map((s) => s.gap);
  };
  const gapsBefore = gaps();
  const before = generationPass(model, probes, opts);
  const { after, gapsAfter } = withFlips(model, flips, () => ({ gapsAfter: gaps(), after: generationPass(model, probes, opts) }));
  const outcome = (r: GenerationResult, gap: number | undefined): ProbeOutcome => ({ output: r.output, verdict: r.verdict, ...(gap !== undefined ? { gap } : {}) });
  const changes = probes.map((probe, i): ProbeChange => {
    const b = outcome(before[i]!, gapsBefore?.[i]);
    const a = outcome(after[i]!, gapsAfter?.[i]);
    return { probe, before: b, after: a, change: changeOf(b.verdict, a.verdict) };
  });
  const categories = byCategory(changes);
  const result: PatchEvaluation = {
    flips: flips.length,
    total: countChanges(changes),
    byCategory: Object.fromEntries([...categories].map(([k, cs]) => [k, countChanges(cs)])),
    probes: changes,
  };
  if (gapsBefore && gapsAfter) {
    const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
    result.meanGap = { before: mean(gapsBefore), after: mean(gapsAfter) };
  }
  const K = opts.null?.patches ?? DEFAULT_NULL_PATCHES;
  if (!Number.isInteger(K) || K < 0) throw new RangeError(`evaluatePatch: null.patches must be an integer >= 0, got ${K}`);
  if (opts.null && K > 0) {
    const space: SpaceOptions = { layers: [...opts.null.layers], projs: [...opts.null.projs], granularity: opts.null.granularity };
    const cs = new CandidateSpace(model, space);
    const rng = new Rng(opts.null.seed);
    // per random patch: its verdict pairs, counted in total and per category
    const totals: ChangeCounts[] = [];
    const perCategory = new Map<string, ChangeCounts[]>([...categories.keys()].map((k) => [k, []]));
    for (let i = 0; i < K; i++) {
      const random = randomPatch(cs, flips.length, rng);
      const out = withFlips(model, random, () => generationPass(model, probes, opts));
      const pairs = probes.map((probe, j) => ({ probe, before: before[j]!, after: out[j]! }));
      totals.push(countChanges(pairs));
      for (const [k, ps] of byCategory(pairs)) perCategory.get(k)!.push(countChanges(ps));
    }
    result.null = {
      ...summarizeNull(result.total.net, flips.length, totals),
      byCategory: Object.fromEntries([...perCategory].map(([k, counts]) => [k, summarizeNull(result.byCategory[k]!.net, flips.length, counts)])),
      space,
      seed: opts.null.seed,
    };
  }
  return result;
}

// ---- patches from files -------------------------------------------------------------------------

export interface ManifestEvalOptions extends PatchEvalOptions {
  /** Evaluate even when the patch's fingerprint does not match the model (a warning instead). */
  force?: boolean;
  /** sha256 of the model's file, to check the patch's fingerprint. */
  sha256?: string;
  /** The patch file, for messages. */
  file?: string;
}

export interface ManifestEvaluation extends PatchEvaluation {
  /** Weights the patch flips (its Hamming distance from the model). */
  bitsFlipped: number;
  /** Fingerprint warnings (forced mismatches, unchecked fingerprints). */
  warnings: string[];
}

/** evaluatePatch for a patch file's manifest: checked against the model's shapes and fingerprint
 *  first (PatchFormatError naming the flip when it does not fit), flips in canonical form. */
export function evaluateManifest(model: Model, manifest: PatchManifest, probes: readonly Probe[], opts: ManifestEvalOptions = {}): ManifestEvaluation {
  const shape = modelShape(model, opts.sha256);
  const { warnings } = checkPatchForModel(manifest, shape, { force: opts.force, file: opts.file });
  const flips = normalize(manifest.flips, shape.tensors);
  return { ...evaluatePatch(model, flips, probes, opts), bitsFlipped: bitsFlipped(flips, shape.tensors) ?? 0, warnings: [...warnings] };
}

/** Why a patch has no random-patch null (its flips are not all of one kind in block projections). */
export class NullSpaceError extends Error {
  override name = 'NullSpaceError';
}

export type NullSpaceSource = 'provenance.search' | 'flips';

/**
 * The space a patch's null draws from: the search's own (provenance.search: layers, projs,
 * granularity) when the manifest records it, else the layers and projections the patch flips, at
 * the granularity of its flips (a group flip in a one-group row, which canonical manifests write
 * for such rows, counts as a row). NullSpaceError when neither works (no flips, bit flips, rows
 * and groups mixed, or tensors outside the blocks' projections such as `output`).
 */
export function nullSpaceOf(manifest: Pick<PatchManifest, 'flips' | 'provenance'> & { base?: Pick<PatchManifest['base'], 'tensors'> }): SpaceOptions & { source: NullSpaceSource } {
  const recorded = manifest.provenance?.search;
  if (recorded && typeof recorded === 'object' && !Array.isArray(recorded)) {
    const { layers, projs, granularity } = recorded as Record<string, unknown>;
    if (Array.isArray(layers) && layers.length > 0 && layers.every((l) => Number.isInteger(l) && (l as number) >= 0) &&
        Array.isArray(projs) && projs.length > 0 && projs.every((p) => (PROJECTIONS as readonly unknown[]).includes(p)) &&
        (granularity === 'row' || granularity === 'group')) {
      return { layers: layers as number[], projs: projs as Projection[], granularity, source: 'provenance.search' };
    }
  }
  const flips = manifest.flips;
  if (flips.length === 0) throw new NullSpaceError('the patch flips nothing and records no search space (provenance.search)');
  const oneGroup = (tensor: string) => {
    const shape = manifest.base?.tensors[tensor];
    return shape !== undefined && shape[0] <= Q1_0_BLOCK;
  };
  let rows = 0;
  let groups = 0;
  let either = 0;
  const layers = new Set<number>();
  const projs = new Set<Projection>();
  for (const f of flips) {
    const kind = flipKind(f);
    if (kind === 'bit') throw new NullSpaceError('the patch has single-bit flips; random patches are drawn as rows or 128-weight groups');
    if (kind === 'group' && oneGroup(f.tensor)) either++;
    else if (kind === 'group') groups++;
    else rows++;
    const { layer, local } = parseTensorName(f.tensor);
    const proj = qwen3ProjectionOf(local); // the Qwen3 plan's (a Map: no prototype names)
    if (layer === undefined || proj === undefined) throw new NullSpaceError(`the patch flips ${f.tensor}, outside the blocks' projections random patches are drawn from`);
    layers.add(layer);
    projs.add(proj);
  }
  if (rows > 0 && groups > 0) throw new NullSpaceError('the patch mixes row and group flips; random patches are drawn at one granularity');
  return {
    layers: [...layers].sort((a, b) => a - b),
    projs: PROJECTIONS.filter((p) => projs.has(p)),
    granularity: groups > 0 ? 'group' : 'row',
    source: 'flips',
  };
}
