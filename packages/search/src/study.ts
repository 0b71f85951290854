// The strategy study: does a search strategy fix held-out prompts beyond what random patches of
// the same size do? For each skill, arm (strategy + configuration) and seed: search on the
// skill's target probes (other skills guard it as controls), then evaluate the patch in greedy
// generation on probes the search never saw, in three groups:
//   heldout   the skill's held-out probes
//   fresh     prompts generated for the study, never stored in the repository (optional)
//   other     every other skill's held-out probes (collateral damage)
// each next to a null: K random patches with the patch's flip count over the same layers,
// projections and granularity, evaluated on the same probes (cached per skill, size and seed,
// so arms and seeds that find patches of one size share it). A run counts only against it.

import { xorFlips, type Model } from '@bankai/model';
import { evaluateGeneration, type GenerationResult, type Probe } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import { countChanges, randomPatch, summarizeNull, type ChangeCounts, type NullSummary } from './patch-eval.js';
import { runSearch, type SearchConfig } from './search.js';
import { CandidateSpace, type Candidate } from './space.js';
import { spread, type Spread } from './stats.js';
import type { Strategy } from './strategy.js';

export const STUDY_GROUPS = ['heldout', 'fresh', 'other'] as const;
export type StudyGroup = (typeof STUDY_GROUPS)[number];

export interface StudySkill {
  name: string;
  /** What the search optimizes. */
  target: Probe[];
  /** What guards the other skills during the search. */
  control: Probe[];
  /**
   * More probes of the skill in the model's own mix of right and wrong answers (a natural sample),
   * added to the targets of the arms that take them (StudyArm.guard): the answers a search must
   * keep, next to the failures it should fix. Optional.
   */
  guard?: Probe[];
  /** Probes the search never sees, per group (fresh may be empty: the skill has no fresh prompts). */
  heldout: Probe[];
  fresh: Probe[];
  other: Probe[];
}

export interface StudyArm {
  name: string;
  strategy: Strategy;
  /** The search configuration, or one per skill (e.g. the skill's pass rate); `seed` is set per run. */
  config: Omit<SearchConfig, 'seed'> | ((skill: StudySkill) => Omit<SearchConfig, 'seed'>);
  /** The strategy draws nothing from the seed: one run stands for every seed. */
  seedless?: boolean;
  /** Search on the skill's guard probes too (StudySkill.guard). */
  guard?: boolean;
}

export interface StudyOptions {
  seeds: readonly number[];
  /** K random patches per null (default 10). */
  nullPatches?: number;
  /**
   * Seed of the null's random patches (default 1): one null per skill, space and patch size,
   * shared by every arm and seed (the null is what random patches of that size do).
   */
  nullSeed?: number;
  workers: number;
  maxTokens?: number;
  onProgress?: (message: string) => void;
}

export interface GroupOutcome extends ChangeCounts {
  null: NullSummary;
}

export interface StudyRun {
  skill: string;
  arm: string;
  seed: number;
  /** Seeds this run stands for (all of them for a seedless arm). */
  seeds: number[];
  flips: Candidate[];
  evaluations: number;
  backwards: number;
  searchSeconds: number;
  fitness: number;
  groups: Partial<Record<StudyGroup, GroupOutcome>>;
}

export interface StudyCell {
  skill: string;
  arm: string;
  runs: StudyRun[];
  flips: Spread;
  searchSeconds: Spread;
  evaluations: Spread;
  /** Exact evaluations per accepted flip (over all runs). */
  evaluationsPerFlip: number;
  /** Per group: the patch's net, fixed and broken over the runs (seeds), and its null's. */
  groups: Partial<Record<StudyGroup, {
    n: number;
    net: Spread;
    fixed: Spread;
    broken: Spread;
    nullMedianNet: Spread;
    nullMaxNet: Spread;
    nullMedianBroken: Spread;
    /** Runs whose net beats the null's maximum. */
    beatsNullMax: number;
    /** Fixed / failing before, summed over runs (upstream's "5 of 16 failing held-out prompts fixed"). */
    fixedOfFailing: { fixed: number; failing: number };
  }>>;
}

export interface StudyResult {
  cells: StudyCell[];
  seeds: number[];
  nullPatches: number;
  nullSeed: number;
  seconds: number;
}

/** Greedy generations on `probes` with `flips` XORed in (and out again). */
function generations(model: Model, flips: readonly Candidate[], probes: readonly Probe[], maxTokens: number): GenerationResult[] {
  xorFlips(model, flips);
  try {
    return evaluateGeneration(model, probes, { maxTokens }).results;
  } finally {
    xorFlips(model, flips);
  }
}

export async function runStudy(model: Model, skills: readonly StudySkill[], arms: readonly StudyArm[], opts: StudyOptions): Promise<StudyResult> {
  const t0 = performance.now();
  const K = opts.nullPatches ?? 10;
  const maxTokens = opts.maxTokens ?? 32;
  const nullSeed = opts.nullSeed ?? 1;
  const say = opts.onProgress ?? (() => undefined);
  const cells: StudyCell[] = [];
  for (const skill of skills) {
    const groups = STUDY_GROUPS.filter((g) => skill[g].length > 0);
    const before = new Map(groups.map((g) => [g, generations(model, [], skill[g], maxTokens)]));
    const unchanged = new Map(groups.map((g) => [g, countChanges(before.get(g)!.map((b) => ({ before: b, after: b })))]));
    const counts = (flips: readonly Candidate[]) => {
      const out = new Map<StudyGroup, ChangeCounts>();
      for (const g of groups) {
        const after = generations(model, flips, skill[g], maxTokens);
        out.set(g, countChanges(before.get(g)!.map((b, i) => ({ before: b, after: after[i]! }))));
      }
      return out;
    };
    // null counts per (space, size): K random patches of that size (an empty patch changes nothing)
    const nulls = new Map<string, Map<StudyGroup, ChangeCounts>[]>();
    const configOf = (arm: StudyArm) => (typeof arm.config === 'function' ? arm.config(skill) : arm.config);
    const nullOf = (arm: StudyArm, size: number) => {
      const { layers, projs, granularity } = configOf(arm);
      const space = { layers, projs, granularity };
      const key = JSON.stringify([space, size]);
      let n = nulls.get(key);
      if (!n) {
        say(`${skill.name}: null of ${K} random ${size}-flip patches`);
        const cs = new CandidateSpace(model, space);
        const rng = new Rng(nullSeed);
        n = Array.from({ length: K }, () => (size === 0 ? unchanged : counts(randomPatch(cs, size, rng))));
        nulls.set(key, n);
      }
      return n;
    };
    for (const arm of arms) {
      const runs: StudyRun[] = [];
      for (const seed of arm.seedless ? opts.seeds.slice(0, 1) : opts.seeds) {
        say(`${skill.name} / ${arm.name} / seed ${seed}: searching`);
        const r = await runSearch({
          model,
          target: [...skill.target, ...(arm.guard ? skill.guard ?? [] : [])].map((probe) => ({ probe, domain: skill.name })),
          control: skill.control,
          strategy: arm.strategy,
          config: { ...configOf(arm), seed },
          workers: opts.workers,
        });
        const own = counts(r.flips);
        const nullCounts = nullOf(arm, r.flips.length);
        const outcome: StudyRun['groups'] = {};
        for (const g of groups) {
          const c = own.get(g)!;
          outcome[g] = { ...c, null: summarizeNull(c.net, r.flips.length, nullCounts.map((m) => m.get(g)!)) };
        }
        runs.push({
          skill: skill.name, arm: arm.name, seed, seeds: arm.seedless ? [...opts.seeds] : [seed], flips: r.flips,
          evaluations: r.evaluations, backwards: r.backwards, searchSeconds: r.seconds, fitness: r.fitness, groups: outcome,
        });
        say(`${skill.name} / ${arm.name} / seed ${seed}: ${r.flips.length} flips, ${groups.map((g) => `${g} ${outcome[g]!.net >= 0 ? '+' : ''}${outcome[g]!.net} (null max ${outcome[g]!.null.maxNet})`).join(', ')}`);
      }
      cells.push(cellOf(skill.name, arm.name, runs, groups));
    }
  }
  return { cells, seeds: [...opts.seeds], nullPatches: K, nullSeed, seconds: (performance.now() - t0) / 1000 };
}

function cellOf(skill: string, arm: string, runs: StudyRun[], groups: readonly StudyGroup[]): StudyCell {
  const totalFlips = runs.reduce((s, r) => s + r.flips.length, 0);
  const cell: StudyCell = {
    skill, arm, runs,
    flips: spread(runs.map((r) => r.flips.length)),
    searchSeconds: spread(runs.map((r) => r.searchSeconds)),
    evaluations: spread(runs.map((r) => r.evaluations)),
    evaluationsPerFlip: totalFlips === 0 ? Infinity : runs.reduce((s, r) => s + r.evaluations, 0) / totalFlips,
    groups: {},
  };
  for (const g of groups) {
    const os = runs.map((r) => r.groups[g]!);
    cell.groups[g] = {
      n: os[0]!.n,
      net: spread(os.map((o) => o.net)),
      fixed: spread(os.map((o) => o.fixed)),
      broken: spread(os.map((o) => o.broken)),
      nullMedianNet: spread(os.map((o) => o.null.medianNet)),
      nullMaxNet: spread(os.map((o) => o.null.maxNet)),
      nullMedianBroken: spread(os.map((o) => o.null.medianBroken)),
      beatsNullMax: os.filter((o) => o.net > o.null.maxNet).length,
      fixedOfFailing: { fixed: os.reduce((s, o) => s + o.fixed, 0), failing: os.reduce((s, o) => s + (o.n - o.correctBefore), 0) },
    };
  }
  return cell;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const signed = (x: number) => `${x >= 0 ? '+' : ''}${f1(x)}`;

/** The study as a Markdown table: one row per skill and arm. */
export function formatStudy(r: StudyResult): string {
  const lines = [
    `| skill | arm | flips | held-out net (mean, range) | null median / max | held-out fixed of failing | fresh net | fresh null max | other skills fixed / broken | null broken (median) | evals per flip | search s |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of r.cells) {
    const h = c.groups.heldout;
    const fr = c.groups.fresh;
    const o = c.groups.other;
    lines.push([
      c.skill, c.arm,
      `${f1(c.flips.mean)} (${c.flips.min}-${c.flips.max})`,
      h ? `${signed(h.net.mean)} (${h.net.min}..${h.net.max}), ${h.beatsNullMax}/${c.runs.length} above null max` : '-',
      h ? `${signed(h.nullMedianNet.mean)} / ${signed(h.nullMaxNet.mean)}` : '-',
      h ? `${h.fixedOfFailing.fixed} / ${h.fixedOfFailing.failing}` : '-',
      fr ? `${signed(fr.net.mean)} (${fr.net.min}..${fr.net.max})` : '-',
      fr ? signed(fr.nullMaxNet.mean) : '-',
      o ? `${f1(o.fixed.mean)} / ${f1(o.broken.mean)}` : '-',
      o ? f1(o.nullMedianBroken.mean) : '-',
      f1(c.evaluationsPerFlip),
      f1(c.searchSeconds.mean),
    ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'));
  }
  lines.push('', `${r.seeds.length} seeds (${r.seeds.join(', ')}); nulls of ${r.nullPatches} random patches (seed ${r.nullSeed}) with each run's flip count; ` +
    'means over runs; a seedless arm runs once for all seeds.');
  return lines.join('\n');
}
