// What the studies share: the search configurations stack-study.ts and evolution-study.ts run (one
// home, so both measure the same search), the k=v strategy-option flags, and the seeded split of a
// HELDOUT set into a natural sample and the rest (search-study.ts --guard heldout:F, stack-study.ts
// --sample heldout:F), and a sample of fresh prompts (--guard fresh:N, --sample fresh:N). 'default': `bankai search`'s defaults (the
// accuracy objective at temperature 1, lambda 1, --min-gain 0.25, --max-broken 0, validation 0.33;
// the studies add each skill's TRAIN set as its natural sample); 'gap': the previous
// configuration (the gap objective, margins 2, lambda 2, --max-broken 1, min-gain 0.02, no sample).
import { hash32, Rng } from '@bankai/rng';
import { freshProbes, type CorpusPresetName, type SkillName } from '@bankai/tiny-model';
import { DEFAULT_MIN_GAIN, DEFAULT_TEMPERATURE, type SearchConfig } from '@bankai/search';

export type StudyConfigName = 'default' | 'gap';

/** The shared part of a study's SearchConfig (seed, strategy and its options are set per search). */
export type StudySearchConfig = Omit<SearchConfig, 'seed' | 'strategy' | 'strategyOptions' | 'initialPatch' | 'domainPassRates' | 'validationByDomain'>;

/** --config's value, checked. */
export function studyConfigName(value: string | undefined): StudyConfigName {
  if (value !== 'default' && value !== 'gap') throw new Error(`--config: default or gap, got ${value}`);
  return value;
}

/** The configuration `name` with `iterations` steps, over every layer of a model with `nLayers` (the tiny model's 4 by default), gate/up/down rows, the competitor metric. */
export function studyConfig(name: StudyConfigName, iterations: number, nLayers = 4): StudySearchConfig {
  const space = {
    iterations, layers: Array.from({ length: nLayers }, (_, i) => i), projs: ['gate', 'up', 'down'], granularity: 'row', metric: 'competitor', aggregate: 'mean',
    validation: 0.33, ownAnswerDistractors: false,
  } as const;
  const common = { ...space, layers: [...space.layers], projs: [...space.projs] };
  return name === 'default'
    ? { ...common, lambda: 1, minGain: DEFAULT_MIN_GAIN.accuracy, maxBrokenControls: 0, objective: 'accuracy', temperature: DEFAULT_TEMPERATURE }
    : { ...common, lambda: 2, minGain: DEFAULT_MIN_GAIN.gap, targetMargin: 2, controlMargin: 2, maxBrokenControls: 1 };
}

/** Strategy options from a study's "k=v,k=v" flag (`flag` names it in the error). */
export function parseStudyOptions(flag: string, value: string): Record<string, string> {
  return Object.fromEntries(value.split(',').map((x) => x.trim()).filter(Boolean).map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`${flag}: KEY=VALUE, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }));
}

/**
 * A seeded fraction of a skill's HELDOUT set (the model's own mix of right and wrong answers) as a
 * natural sample the search sees, and the rest, which stays held out. The same split for every seed
 * and study ('study-guard').
 */
export function splitHeldout<T>(heldout: readonly T[], fraction: number): { sample: T[]; rest: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`held-out fraction must be in (0, 1), got ${fraction}`);
  const k = Math.round(heldout.length * fraction);
  const idx = new Rng(hash32('study-guard')).shuffle(heldout.map((_, i) => i));
  const inSample = new Set(idx.slice(0, k));
  return { sample: heldout.filter((_, i) => inSample.has(i)), rest: heldout.filter((_, i) => !inSample.has(i)) };
}

/**
 * Parts of a skill a study can take as domains of their own (`--sets addition:sum-lt-1000,addition:sum-ge-1000`):
 * a predicate on a probe. Addition splits by its sum: three digits at most, or four (a carry out of
 * the hundreds), two halves of one distribution with about the same error rate on both shipped
 * models (83-86% right on fresh prompts), one computation, so one half's flips can cost the other
 * (measured on bankai-small, seeds 1-3: 30 of 63 stack flips conflict; none shared, so none cancels).
 */
export const SKILL_PARTS: Partial<Record<SkillName, Record<string, (p: { prompt: string; correct: string }) => boolean>>> = {
  addition: {
    'sum-lt-1000': (p) => Number(p.correct.trim()) < 1000,
    'sum-ge-1000': (p) => Number(p.correct.trim()) >= 1000,
  },
};

/** A study domain `skill` or `skill:part` (SKILL_PARTS): its skill and the probes it keeps. */
export function studyDomain(spec: string, skills: readonly string[]): { skill: SkillName; keep: (p: { prompt: string; correct: string }) => boolean } {
  const [skill, part, ...rest] = spec.split(':');
  if (!skills.includes(skill!) || rest.length > 0) throw new Error(`--sets: a domain is SKILL or SKILL:PART, SKILL one of ${skills.join(', ')}; got ${spec}`);
  if (part === undefined) return { skill: skill as SkillName, keep: () => true };
  const parts = SKILL_PARTS[skill as SkillName];
  const keep = parts?.[part];
  if (!keep) throw new Error(`--sets: ${skill} has ${parts ? `the parts ${Object.keys(parts).join(', ')}` : 'no parts'}; got ${spec}`);
  return { skill: skill as SkillName, keep };
}

/** The fresh prompts search-study.ts evaluates a patch on by default (its --fresh 200, --fresh-seed 8001). */
export const STUDY_FRESH = { count: 200, seed: 8001 } as const;

/**
 * N fresh prompts of a skill (outside every split and probe file) as a natural sample: drawn with
 * their own seed (`evalSeed` + 1000) and none of them one of the `evaluated` fresh prompts, so
 * search-study.ts --guard fresh:N and stack-study.ts --sample fresh:N search on the same sample;
 * `keep`: only prompts of one part of the skill (stack-study.ts's SKILL:PART domains).
 * Throws FreshPromptsError where the skill has no fresh prompts.
 */
export function freshSample(skill: SkillName, n: number, preset: CorpusPresetName, evaluated: readonly { prompt: string }[], evalSeed: number = STUDY_FRESH.seed, keep?: (p: { prompt: string; correct: string }) => boolean) {
  const seen = new Set(evaluated.map((p) => p.prompt));
  // with `keep` (a part of the skill, SKILL_PARTS) the draw is larger, so n of the part come back
  const draw = freshProbes(skill, (keep ? 4 * n : n) + evaluated.length, evalSeed + 1000, undefined, { preset });
  const out = draw.filter((p) => !seen.has(p.prompt) && (keep?.(p) ?? true)).slice(0, n);
  if (out.length < n) throw new RangeError(`freshSample: ${out.length} fresh ${skill} prompts of the part asked for, fewer than ${n}`);
  return out;
}
