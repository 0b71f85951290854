// The pass rate of a natural sample of a skill (prompts in the model's own mix of right and wrong
// answers): what SearchConfig.passRate wants, measured instead of guessed.

import type { Model } from '@bankai/model';
import { evaluateGeneration, type Probe } from '@bankai/probes';

export interface SamplePassRate {
  n: number;
  /** Probes the model answers right in greedy generation. */
  right: number;
  /** (right + 1) / (n + 2): the rule of succession, so a sample the model gets all right (or all wrong) still leaves the population some failures (or some right answers). */
  passRate: number;
}

/** The model's greedy accuracy on `probes`, smoothed by the rule of succession (see SamplePassRate). */
export function samplePassRate(model: Model, probes: readonly Probe[], opts: { maxTokens?: number } = {}): SamplePassRate {
  const right = probes.length === 0 ? 0 : evaluateGeneration(model, probes, { maxTokens: opts.maxTokens ?? 32 }).results.filter((r) => r.verdict === 'correct').length;
  return { n: probes.length, right, passRate: (right + 1) / (probes.length + 2) };
}
