// The search configurations the tiny-model studies run (stack-study.ts, evolution-study.ts): one
// home, so both studies measure the same search. 'default': `bankai search`'s defaults (the
// accuracy objective at temperature 1, lambda 1, --min-gain 0.25, --max-broken 0, validation 0.33;
// the studies add each skill's TRAIN set as its natural sample); 'gap': the previous
// configuration (the gap objective, margins 2, lambda 2, --max-broken 1, min-gain 0.02, no sample).
import { DEFAULT_MIN_GAIN, DEFAULT_TEMPERATURE, type SearchConfig } from '@bankai/search';

export type StudyConfigName = 'default' | 'gap';

/** The shared part of a study's SearchConfig (seed, strategy and its options are set per search). */
export type StudySearchConfig = Omit<SearchConfig, 'seed' | 'strategy' | 'strategyOptions' | 'initialPatch' | 'domainPassRates' | 'validationByDomain'>;

/** --config's value, checked. */
export function studyConfigName(value: string | undefined): StudyConfigName {
  if (value !== 'default' && value !== 'gap') throw new Error(`--config: default or gap, got ${value}`);
  return value;
}

/** The configuration `name` with `iterations` steps, over the tiny model's layers 0-3, gate/up/down rows, the competitor metric. */
export function studyConfig(name: StudyConfigName, iterations: number): StudySearchConfig {
  const space = {
    iterations, layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], granularity: 'row', metric: 'competitor', aggregate: 'mean',
    validation: 0.33, ownAnswerDistractors: false,
  } as const;
  const common = { ...space, layers: [...space.layers], projs: [...space.projs] };
  return name === 'default'
    ? { ...common, lambda: 1, minGain: DEFAULT_MIN_GAIN.accuracy, maxBrokenControls: 0, objective: 'accuracy', temperature: DEFAULT_TEMPERATURE }
    : { ...common, lambda: 2, minGain: DEFAULT_MIN_GAIN.gap, targetMargin: 2, controlMargin: 2, maxBrokenControls: 1 };
}
