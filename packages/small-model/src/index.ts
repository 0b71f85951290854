// @bankai/small-model: bankai-small, the second shipped trained true 1-bit Qwen3 model (8 layers,
// n_embd 256), and its probe sets. Built by the tiny model's recipe (@bankai/tiny-model: corpus
// preset `small`, train/train.py --preset small, the same exporter). Paths are absolute file paths
// inside the installed package (runtime-neutral: no node: import).

import { CORPUS_PRESETS, urlToPath, type SkillName } from '@bankai/tiny-model';

export const MODEL_FILE_NAME = 'bankai-small-q1_0.gguf';
/** The corpus preset the model was trained on (buildCorpus(DEFAULT_SEED, CORPUS_PRESET)). */
export const CORPUS_PRESET = 'small';

/** Skills that have a probe file `probes/<skill>.json`: the tiny model's seven and integral. */
export const PROBE_SKILLS: readonly SkillName[] = CORPUS_PRESETS.small.skills;

/** The shipped GGUF file (Qwen3, Q1_0 linears, F32 norms, gpt2/qwen2 tokenizer). */
export const modelUrl: URL = new URL(`../model/${MODEL_FILE_NAME}`, import.meta.url);
export const modelPath: string = urlToPath(modelUrl);

export function probeUrl(skill: SkillName): URL {
  if (!PROBE_SKILLS.includes(skill)) throw new RangeError(`probeUrl: unknown skill "${skill}"; one of ${PROBE_SKILLS.join(', ')}`);
  return new URL(`../probes/${skill}.json`, import.meta.url);
}

export function probePath(skill: SkillName): string {
  return urlToPath(probeUrl(skill));
}
