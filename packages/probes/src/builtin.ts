// Built-in probe sets: upstream Bankai's small math / code / knowledge sets (written for Bonsai
// 8B), and where the shipped tiny model's per-skill probe files live.

import { PROBE_SKILLS, modelPath as tinyModelPath, probePath as tinyProbePath, type SkillName } from '@bankai/tiny-model';
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
  for (const s of sets) if (!TINY_PROBE_SETS.includes(s)) throw new RangeError(`tinyProbeSpec: unknown set "${s}"; one of ${TINY_PROBE_SETS.join(', ')}`);
  const path = tinyProbePath(skill);
  return sets.length === 0 ? path : `${path}#${sets.map((s) => `${skill.toUpperCase()}_${s}`).join(',')}`;
}
