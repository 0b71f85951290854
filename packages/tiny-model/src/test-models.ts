// Test-only (not built, not exported): the models this recipe ships, for the card tests that check
// each of them (shipped-model, engine-accuracy, probes). The recipe's package knows its outputs by
// their place in the monorepo; train/presets.json names each one's package and file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Model } from '@bankai/model';
import { CORPUS_PRESETS, type CorpusPresetName, type SkillName } from './corpus.js';

export interface ShippedModel {
  preset: CorpusPresetName;
  /** The model's package directory, as a URL ending in '/'. */
  dir: URL;
  modelFile: string;
  modelPath: string;
  skills: readonly SkillName[];
  /** SEARCH / EVAL caps of its probe files (null: EVAL holds every held-out example not in SEARCH). */
  probes: { max_search: number; max_eval: number | null };
  /** Recompute the whole accuracy table in the test (false: a seeded sample of it, to keep CI short). */
  fullTable: boolean;
}

const presets = JSON.parse(readFileSync(new URL('../train/presets.json', import.meta.url), 'utf8'));

export const SHIPPED_MODELS: ShippedModel[] = (['tiny', 'small'] as const).map((preset) => {
  const dir = new URL(`../../${presets[preset].package}/`, import.meta.url);
  const modelFile: string = presets[preset].model_file;
  return {
    preset,
    dir,
    modelFile,
    modelPath: fileURLToPath(new URL(`model/${modelFile}`, dir)),
    skills: CORPUS_PRESETS[preset].skills,
    probes: presets[preset].probes,
    fullTable: preset === 'tiny',
  };
});

/** Log-prob gap (nats) below which the engine's top token and llama.cpp's count as a near-tie: a
 *  Q8_0 halfway rounding moves later log-probs by 1e-3..1e-1 (test/llama/parity-check.ts); design
 *  errors move them by 0.2..18. */
export const NEAR_TIE = 0.1;

/**
 * Where token sequence `a` first parts from `b`: the engine's log-prob of a's token there minus that
 * of b's (NaN when b has ended there). Undefined when `a` is a prefix of `b` (they never part).
 */
export function partingGap(model: Model, a: readonly number[], b: readonly number[]): number | undefined {
  let at = 0;
  while (at < a.length && a[at] === b[at]) at++;
  if (at === a.length) return undefined;
  const lp = model.logprobs(a.slice(0, at)); // (at, vocab)
  const V = model.config.vocabSize;
  return lp[(at - 1) * V + a[at]!]! - (b[at] === undefined ? NaN : lp[(at - 1) * V + b[at]!]!);
}

export const readJson = (m: ShippedModel, file: string) => JSON.parse(readFileSync(new URL(file, m.dir), 'utf8'));
export const readText = (m: ShippedModel, file: string) => readFileSync(new URL(file, m.dir), 'utf8');
