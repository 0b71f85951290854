// Which shipped model a pipeline step works on. One recipe, several models: `--preset tiny` (this
// package, the default) or `--preset small` (packages/small-model). Shapes, training defaults,
// package and file names come from train/presets.json (the file train.py reads too); the corpus
// sizes and skills from CORPUS_PRESETS in src/corpus.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CORPUS_PRESETS } from '../dist/index.js';

const recipe = fileURLToPath(new URL('..', import.meta.url));
export const PRESETS = JSON.parse(readFileSync(join(recipe, 'train/presets.json'), 'utf8'));

/** Parses `--preset NAME` (and the step's own `options`) from argv; returns the target model's
 *  paths: pkg (its package dir), runDir (positional or pkg/train/out), modelFile, modelPath, skills. */
export function target(options = {}, argv = process.argv.slice(2)) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { preset: { type: 'string', default: 'tiny' }, ...options } });
  const preset = values.preset;
  const p = PRESETS[preset];
  if (!p || !CORPUS_PRESETS[preset]) throw new Error(`unknown --preset ${preset}; one of ${Object.keys(PRESETS).join(', ')}`);
  const pkg = join(recipe, '..', p.package);
  return {
    preset,
    flags: values,
    pkg,
    runDir: resolve(positionals[0] ?? join(pkg, 'train/out')),
    modelFile: p.model_file,
    modelName: p.model_file.replace(/\.gguf$/, ''),
    modelPath: join(pkg, 'model', p.model_file),
    skills: CORPUS_PRESETS[preset].skills,
    probes: p.probes,
    config: p.config,
    train: p.train,
  };
}
