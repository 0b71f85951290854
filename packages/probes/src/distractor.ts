// Distractors from the model itself, the rule the shipped tiny-model probe files follow
// (packages/tiny-model/scripts/make-probes.mjs): where the model answers wrong, its own greedy
// answer; where it answers right, its most probable wrong continuation (likelyMistake in
// @bankai/model). A distractor the model never says measures nothing.

import { likelyMistake, type Model } from '@bankai/model';
import { matchProbe } from './match.js';
import type { Probe } from './types.js';

export interface DistractorOptions {
  /** Most tokens of greedy generation (default 24, as the training script's record). */
  maxTokens?: number;
}

export interface ModelDistractor {
  wrong: string;
  /** 'greedy': the model's own wrong answer; 'likely-mistake': its most probable wrong continuation. */
  source: 'greedy' | 'likely-mistake';
}

/** A usable distractor: one non-empty line that is not a right answer. */
function usable(text: string, probe: Pick<Probe, 'correct' | 'alternates'>): boolean {
  return text.trim() !== '' && !/[\r\n]/.test(text) && matchProbe(probe, text).verdict !== 'correct';
}

/** The model's own mistake on a prompt whose right answer is `correct`, or undefined when the
 *  model says nothing usable (an empty line, or only right answers). */
export function modelDistractor(model: Model, probe: Pick<Probe, 'prompt' | 'correct' | 'alternates'>, opts: DistractorOptions = {}): ModelDistractor | undefined {
  const maxTokens = opts.maxTokens ?? 24;
  const said = model.generate(probe.prompt, { maxTokens }).text;
  if (usable(said, probe)) return { wrong: said, source: 'greedy' };
  const likely = likelyMistake(model, probe.prompt, probe.correct, { maxTokens });
  return usable(likely, probe) ? { wrong: likely, source: 'likely-mistake' } : undefined;
}

/** The probes with `wrong` replaced by the model's own mistake (kept where the model has none). */
export function withModelDistractors<P extends Probe>(model: Model, probes: readonly P[], opts: DistractorOptions = {}): P[] {
  return probes.map((p) => {
    const d = modelDistractor(model, p, opts);
    return d ? { ...p, wrong: d.wrong } : p;
  });
}
