// Built-in probe sets: upstream Bankai's small math / code / knowledge sets (written for Bonsai
// 8B), and where the shipped models' per-skill probe files live (bankai-tiny, bankai-small).

import * as small from '@bankai/small-model';
import { PROBE_SKILLS, modelPath as tinyModelPath, probePath as tinyProbePath, type CorpusPresetName, type SkillName } from '@bankai/tiny-model';
import { BUILTIN_PROBES_JSON } from './builtin-data.js';
import { parseProbeFile } from './file.js';
import type { ProbeFile } from './types.js';

/** Upstream's built-in sets MATH_PROBES, CODE_PROBES, KNOWLEDGE_PROBES, as a fresh ProbeFile. */
export function builtinProbes(): ProbeFile {
  return parseProbeFile(structuredClone(BUILTIN_PROBES_JSON), 'builtin');
}

/** The tiny model's skills with a probe file `probes/<skill>.json` (sets <SKILL>_SEARCH / _EVAL /
 *  _HELDOUT / _TRAIN / _CONTROL). */
export const TINY_PROBE_SKILLS: readonly SkillName[] = PROBE_SKILLS;
export { tinyModelPath, tinyProbePath, type SkillName };

/** The sets of a tiny-model probe file, in file order: SEARCH (half the held-out split, for a
 *  search), EVAL (the other half, at most 48), CONTROL (other skills, answered right), HELDOUT
 *  (every held-out example not in SEARCH: EVAL and the rest), TRAIN (the train-split examples of
 *  data/splits.json). */
export const TINY_PROBE_SETS = ['SEARCH', 'EVAL', 'CONTROL', 'HELDOUT', 'TRAIN'] as const;
export type TinyProbeSet = (typeof TINY_PROBE_SETS)[number];

/** `probes/<skill>.json#<SKILL>_<SET>` for the tiny model: e.g. tinyProbeSpec('addition', 'HELDOUT'). */
export function tinyProbeSpec(skill: SkillName, ...sets: TinyProbeSet[]): string {
  return shippedProbeSpec('tiny', skill, ...sets);
}

/** The models the repository ships, by name: `tiny` (bankai-tiny, 4 layers x 128) and `small`
 *  (bankai-small, 8 layers x 256). Their probe files have the same five sets (TINY_PROBE_SETS). */
export const SHIPPED_MODEL_NAMES = ['tiny', 'small'] as const;
export type ShippedModelName = (typeof SHIPPED_MODEL_NAMES)[number];

export interface ShippedModel {
  name: ShippedModelName;
  /** The GGUF file. */
  modelPath: string;
  /** Skills with a probe file. */
  skills: readonly SkillName[];
  probePath: (skill: SkillName) => string;
  /** Its corpus preset in @bankai/tiny-model (fresh prompts: freshProbes(..., { preset })). */
  corpusPreset: CorpusPresetName;
}

const SHIPPED: Record<ShippedModelName, ShippedModel> = {
  tiny: { name: 'tiny', modelPath: tinyModelPath, skills: PROBE_SKILLS, probePath: tinyProbePath, corpusPreset: 'tiny' },
  small: { name: 'small', modelPath: small.modelPath, skills: small.PROBE_SKILLS, probePath: small.probePath, corpusPreset: 'small' },
};

export function shippedModel(name: string): ShippedModel {
  const m = SHIPPED[name as ShippedModelName];
  if (!m) throw new RangeError(`unknown shipped model "${name}"; one of ${SHIPPED_MODEL_NAMES.join(', ')}`);
  return m;
}

/** `probes/<skill>.json#<SKILL>_<SET>` of a shipped model: shippedProbeSpec('small', 'integral', 'EVAL'). */
export function shippedProbeSpec(model: ShippedModelName, skill: SkillName, ...sets: TinyProbeSet[]): string {
  const m = shippedModel(model);
  for (const s of sets) if (!TINY_PROBE_SETS.includes(s)) throw new RangeError(`shippedProbeSpec: unknown set "${s}"; one of ${TINY_PROBE_SETS.join(', ')}`);
  if (!m.skills.includes(skill)) throw new RangeError(`shippedProbeSpec: the ${model} model has no skill "${skill}"; one of ${m.skills.join(', ')}`);
  const path = m.probePath(skill);
  return sets.length === 0 ? path : `${path}#${sets.map((s) => `${skill.toUpperCase()}_${s}`).join(',')}`;
}
