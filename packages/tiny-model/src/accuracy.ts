// ---------------------------------------------------------------------------------------------
// The model card's accuracy table, computed with any greedy generator: for every skill and split
// of data/splits.json, greedy generation from the prompt alone (stop at newline), exact match of
// the answer. The toolkit's engine (@bankai/model Model.generate) is the reference generator.
// ---------------------------------------------------------------------------------------------

import { SKILLS, type SkillName } from './corpus.js';

export interface SplitsFile {
  skills: Partial<Record<SkillName, { train: Array<{ prompt: string; answer: string }>; heldout: Array<{ prompt: string; answer: string }> }>>;
}

export interface AccuracyTable {
  /** `${skill}/${split}` -> number of exact matches. */
  correct: Record<string, number>;
  /** `${skill}/${split}` -> number of examples. */
  total: Record<string, number>;
  /** `${skill}/${split}` -> the generated answers, in split order. */
  greedy: Record<string, string[]>;
}

export const SPLITS = ['train', 'heldout'] as const;

/** `skills`: the model's skills (its corpus preset's; default the tiny model's seven). */
export function accuracyTable(splits: SplitsFile, generate: (prompt: string) => string, skills: readonly SkillName[] = SKILLS): AccuracyTable {
  const table: AccuracyTable = { correct: {}, total: {}, greedy: {} };
  for (const skill of skills)
    for (const split of SPLITS) {
      const key = `${skill}/${split}`;
      const rows = splits.skills[skill]?.[split];
      if (!rows) throw new Error(`splits: no ${key} examples; regenerate data/splits.json with scripts/build-data.mjs`);
      const outs = rows.map((e) => generate(e.prompt));
      table.greedy[key] = outs;
      table.total[key] = rows.length;
      table.correct[key] = outs.filter((o, i) => o === rows[i]!.answer).length;
    }
  return table;
}

/** "80.5%": the percentage as the card prints it. */
export function percent(correct: number, total: number): string {
  return `${((100 * correct) / total).toFixed(1)}%`;
}
