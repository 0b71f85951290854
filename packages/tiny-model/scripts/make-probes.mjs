// Probe sets in the upstream probe JSON format ({ source, sets: { NAME: [{ name, category, prompt,
// correct, wrong }] } }), one file per skill: probes/<skill>.json with
//   <SKILL>_SEARCH   half of the skill's held-out examples (prompts never trained): what a patch
//                    search optimizes; it holds half of the model's real failures on the skill
//   <SKILL>_EVAL     the other half (disjoint): held-out evaluation of a patch
//   <SKILL>_CONTROL  train-split examples of the OTHER skills that the model answers correctly
//   <SKILL>_HELDOUT  every held-out example of the skill not in SEARCH (so EVAL is a subset), in
//                    split order: the largest evaluation a search on SEARCH has never seen
//   <SKILL>_TRAIN    the skill's train-split examples of data/splits.json (trained prompts)
// Every `wrong` is a mistake the model actually makes: its own greedy output (engine) where it
// fails, and where it succeeds its most probable wrong continuation (train.py likely_mistake) or
// the training forward's wrong greedy output.
//
// The training forward's record (train/out/eval-results.json) comes from a training run and is not
// committed. Without it, the mistakes recorded in the shipped probe files are reused (so the
// SEARCH, EVAL and CONTROL sets come out byte-identical), and every other one is the same
// likely_mistake computed with our engine (likelyMistake in @bankai/model). HELDOUT and TRAIN
// probes whose mistake is not usable (empty) get the engine's, and where that is empty too a
// rule's (ruleMistake in fresh.ts), so those sets hold every example.
// Usage: node packages/tiny-model/scripts/make-probes.mjs [--preset tiny|small] [train/out dir]   (after building)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesSource } from '@bankai/gguf';
import { Model, likelyMistake } from '@bankai/model';
import { ruleMistake } from '../dist/index.js';
import { writeAtomic } from './fs-util.mjs';
import { target } from './target.mjs';

const { pkg, runDir, modelPath, modelFile, skills: SKILLS, preset, probes: caps } = target();
const model = await Model.load(bytesSource(new Uint8Array(readFileSync(modelPath)), modelPath));
const engineMistake = (row) => likelyMistake(model, row.prompt, row.answer, { maxTokens: 24 });
const torchFile = join(runDir, 'eval-results.json');
// The shipped file under our engine decides what the model says (model/eval-engine.json, written by
// eval-engine.mjs); the training forward (float activations) differs on a few near-ties.
const engine = JSON.parse(readFileSync(join(pkg, 'model/eval-engine.json'), 'utf8')).greedy;
const torch = existsSync(torchFile) ? JSON.parse(readFileSync(torchFile, 'utf8')).results : recordFromProbeFiles();
// a correct answer's mistake: the record's where it has one (train.py's likely_mistake; presets with
// torch_mistakes false record none), else the engine's likelyMistake (the same rule)
const results = Object.fromEntries(
  Object.entries(torch).map(([key, rows]) => [
    key,
    rows.map((r, i) => {
      const said = engine[key][i];
      const correct = said === r.answer;
      const recorded = r.correct ? r.mistake : r.greedy;
      return { ...r, greedy: said, correct, mistake: correct ? (recorded ?? engineMistake(r)) : said };
    }),
  ]),
);

/** The training record's rows (prompt, answer, correct, mistake) rebuilt from data/splits.json and
 *  the mistakes the shipped probe files hold; a mistake they do not hold is computed by the engine. */
function recordFromProbeFiles() {
  const splits = JSON.parse(readFileSync(join(pkg, 'data/splits.json'), 'utf8')).skills;
  const recorded = new Map();
  for (const skill of SKILLS) {
    const file = join(pkg, 'probes', `${skill}.json`);
    if (!existsSync(file)) continue;
    const { sets } = JSON.parse(readFileSync(file, 'utf8'));
    for (const [name, probes] of Object.entries(sets)) {
      if (!/_(SEARCH|EVAL|CONTROL)$/.test(name)) continue;
      for (const p of probes) {
        if (recorded.has(p.prompt) && recorded.get(p.prompt) !== p.wrong) throw new Error(`${file}: ${p.prompt} has two distractors`);
        recorded.set(p.prompt, p.wrong);
      }
    }
  }
  console.log(`no ${torchFile}: reusing ${recorded.size} mistakes of the shipped probe files, the engine's likely mistake elsewhere`);
  const out = {};
  for (const skill of SKILLS) {
    for (const split of ['train', 'heldout']) {
      out[`${skill}/${split}`] = splits[skill][split].map((e, i) => {
        // only where the engine answers right is the record's mistake used (else its own answer is)
        const mistake = engine[`${skill}/${split}`][i] === e.answer ? (recorded.get(e.prompt) ?? engineMistake(e)) : undefined;
        return { prompt: e.prompt, answer: e.answer, correct: true, greedy: e.answer, mistake };
      });
    }
  }
  return out;
}

// SEARCH holds at most max_search probes; EVAL at most max_eval (null: every other held-out example)
const MAX_SEARCH = caps.max_search;
const MAX_EVAL = caps.max_eval ?? Infinity;
const CONTROLS_PER_SKILL = 6;

function probe(skill, kind, i, row) {
  return { name: `${skill}_${kind}_${i}`, category: skill, prompt: row.prompt, correct: row.answer, wrong: row.mistake };
}
/** A usable distractor: non-empty, single line, different from the answer. */
const usable = (row) => typeof row.mistake === 'string' && row.mistake.trim() !== '' && !row.mistake.includes('\n') && row.mistake !== row.answer;

for (const skill of SKILLS) {
  // Failures first, dealt alternately to search and eval (so both hold every kind of real
  // failure), then passing examples alternately, each set capped (MAX_SEARCH, MAX_EVAL); once SEARCH
  // is full the rest go to EVAL; order as in the split.
  const heldout = results[`${skill}/heldout`].filter(usable);
  const ordered = [...heldout.filter((r) => !r.correct), ...heldout.filter((r) => r.correct)];
  const search = [];
  const evalSet = [];
  ordered.forEach((r, i) => {
    const into = i % 2 === 0 && search.length < MAX_SEARCH ? search : evalSet;
    if (into === search || evalSet.length < MAX_EVAL) into.push(r);
  });
  const control = [];
  for (const other of SKILLS) {
    if (other === skill) continue;
    const right = results[`${other}/train`].filter((r) => r.correct && usable(r));
    control.push(...right.slice(0, CONTROLS_PER_SKILL).map((r, i) => ({ ...probe(other, 'control', i, r) })));
  }
  // every held-out example not in SEARCH, and the train examples; a distractor for each
  const searchPrompts = new Set(search.map((r) => r.prompt));
  const distractor = (r) => {
    if (usable(r)) return r;
    const engineR = { ...r, mistake: engineMistake(r) };
    if (usable(engineR)) return engineR;
    console.log(`  ${skill}: the model has no usable mistake for ${JSON.stringify(r.prompt)}: a rule's (ruleMistake)`);
    return { ...r, mistake: ruleMistake({ skill, prompt: r.prompt, answer: r.answer }) };
  };
  const withWrong = (rows) => rows.map(distractor);
  const heldoutAll = withWrong(results[`${skill}/heldout`].filter((r) => !searchPrompts.has(r.prompt)));
  const trainAll = withWrong(results[`${skill}/train`]);
  const up = skill.toUpperCase();
  const file = {
    source: `bankai ${preset === 'tiny' ? 'tiny-model' : `${preset}-model`}: ${skill} probes, generated by scripts/make-probes.mjs from the trained model's greedy outputs (train/train.py)`,
    model: modelFile,
    sets: {
      [`${up}_SEARCH`]: search.map((r, i) => probe(skill, 'search', i, r)),
      [`${up}_EVAL`]: evalSet.map((r, i) => probe(skill, 'eval', i, r)),
      [`${up}_CONTROL`]: control,
      [`${up}_HELDOUT`]: heldoutAll.map((r, i) => probe(skill, 'heldout', i, r)),
      [`${up}_TRAIN`]: trainAll.map((r, i) => probe(skill, 'train', i, r)),
    },
  };
  writeAtomic(join(pkg, 'probes', `${skill}.json`), JSON.stringify(file, null, 1) + '\n');
  const failing = search.filter((r) => !r.correct).length;
  console.log(`probes/${skill}.json: search ${search.length} (${failing} failing), eval ${evalSet.length}, control ${control.length}, heldout ${heldoutAll.length}, train ${trainAll.length}`);
}
