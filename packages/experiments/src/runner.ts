// Runs the registry's experiments in order, resumably: each finished result is handed to a
// store (the node edge writes it atomically to DIR/experiments/NAME.json) before the next one
// starts, and a result already stored with the same key (model sha256, skill, sizes) is reused
// instead of measured again. Searches shared by several experiments run once per process.

import { runStudy, type StudyArm, type StudyCell, type StudySkill } from '@bankai/search';
import { EXPERIMENTS, ExperimentOptionError, type Experiment, type ExperimentContext, type ExperimentInputs, type ExperimentSizes } from './experiments.js';
import { ExperimentResultSchema, RESULTS_SCHEMA, type ExperimentResult } from './schema.js';

export interface ResultStore {
  /** The stored result of an experiment, or null (none, or not valid). */
  load(name: string): ExperimentResult | null;
  save(result: ExperimentResult): Promise<void>;
}

/** A store in memory (tests, or a run that keeps nothing). */
export function memoryStore(): ResultStore & { results: Map<string, ExperimentResult> } {
  const results = new Map<string, ExperimentResult>();
  return { results, load: (name) => results.get(name) ?? null, save: async (r) => void results.set(r.name, r) };
}

export { ExperimentOptionError };

/** The experiments named in `only` (all when empty), in registry order; an unknown name is an error naming the valid ones. */
export function selectExperiments(only: readonly string[] = []): Experiment[] {
  for (const n of only) {
    if (!EXPERIMENTS.some((e) => e.name === n)) throw new ExperimentOptionError(`unknown experiment "${n}"; one of ${EXPERIMENTS.map((e) => e.name).join(', ')}`);
  }
  return EXPERIMENTS.filter((e) => only.length === 0 || only.includes(e.name));
}

/** What a stored result must have been measured with to be reused: the schema, the experiment and
 *  its metric (a changed measurement gets a new metric name), the model, the skill, the sizes. */
export function resultKey(inputs: Pick<ExperimentInputs, 'modelSha256' | 'skill' | 'stackWith'>, sizes: ExperimentSizes, name: string): string {
  const { workers: _workers, ...rest } = sizes; // results are the same on any worker count
  const metric = EXPERIMENTS.find((e) => e.name === name)?.metric ?? null;
  const stackWith = name === 'stack-vs-joint' && inputs.stackWith ? { stackWith: inputs.stackWith } : {};
  return JSON.stringify({ schema: RESULTS_SCHEMA, experiment: name, metric, model: inputs.modelSha256, skill: inputs.skill, ...stackWith, sizes: rest });
}

/** Non-finite numbers become null (JSON has no NaN): the stored form of a measurement. */
function jsonSafe<T>(x: T): T {
  if (typeof x === 'number') return (Number.isFinite(x) ? x : null) as T;
  if (Array.isArray(x)) return x.map(jsonSafe) as T;
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, jsonSafe(v)])) as T;
  return x;
}

export interface RunExperimentsOptions {
  only?: readonly string[];
  sizes: ExperimentSizes;
  store: ResultStore;
  onProgress?: (message: string) => void;
}

export interface RunExperimentsResult {
  results: ExperimentResult[];
  /** Names reused from the store. */
  skipped: string[];
}

export async function runExperiments(inputs: ExperimentInputs, opts: RunExperimentsOptions): Promise<RunExperimentsResult> {
  const selected = selectExperiments(opts.only);
  const say = opts.onProgress ?? (() => undefined);
  const studies = new Map<string, Promise<StudyCell>>();
  const ctx: ExperimentContext = {
    inputs,
    sizes: opts.sizes,
    say,
    study(key: string, skill: StudySkill, arm: StudyArm) {
      let p = studies.get(key);
      if (!p) {
        p = runStudy(inputs.model, [skill], [arm], {
          seeds: opts.sizes.seeds, nullPatches: opts.sizes.nullPatches, workers: opts.sizes.workers, maxTokens: opts.sizes.maxTokens, onProgress: say,
        }).then((r) => r.cells[0]!);
        studies.set(key, p);
      }
      return p;
    },
  };
  const results: ExperimentResult[] = [];
  const skipped: string[] = [];
  for (const e of selected) {
    const key = resultKey(inputs, opts.sizes, e.name);
    const stored = opts.store.load(e.name);
    if (stored && stored.key === key) {
      say(`${e.name}: done before, kept`);
      results.push(stored);
      skipped.push(e.name);
      continue;
    }
    say(`${e.name}: running`);
    const t0 = performance.now();
    const m = await e.run(ctx);
    const result = ExperimentResultSchema.parse(jsonSafe({
      name: e.name, title: e.title, claim: e.claim, metric: e.metric, ...m, seconds: (performance.now() - t0) / 1000, key,
    }));
    await opts.store.save(result);
    say(`${e.name}: ${result.verdict} (value ${result.value}, 95% CI ${result.ci.lo} .. ${result.ci.hi})`);
    results.push(result);
  }
  return { results, skipped };
}

const fmt = (x: number | null | undefined): string => {
  if (x === null || x === undefined) return '-';
  const a = Math.abs(x);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? x.toExponential(2) : x.toFixed(a >= 100 ? 0 : 3).replace(/\.?0+$/, '') || '0';
};

/** The verdict table as Markdown (what `bankai experiments` prints and the README quotes). */
export function formatVerdictTable(results: readonly ExperimentResult[]): string {
  const lines = [
    '| experiment | upstream claim | measured | 95% CI | null | seeds | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const cell = (s: string) => s.replace(/\|/g, '\\|'); // a pipe inside a cell would end it
  for (const r of results) {
    lines.push(`| ${r.name} | ${cell(r.claim.text)} | ${fmt(r.value)} ${r.metric.unit} (${cell(r.metric.name)}) | [${fmt(r.ci.lo)}, ${fmt(r.ci.hi)}] over ${cell(r.ci.over)} | ${fmt(r.null.value)} | ${r.seeds.length} | **${r.verdict}** |`);
  }
  return lines.join('\n');
}
