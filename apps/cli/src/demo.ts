// `bankai demo`: the main job on a shipped 1-bit model (tiny by default, or bankai-small). Search a
// patch for one skill the model gets partly wrong, with control probes from every other skill, then
// show what the patch does in free generation on held-out prompts and on the other skills. About a
// minute on the tiny model.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED_MODEL_NAMES, shippedModel, shippedProbeSpec, type ShippedModelName, type SkillName } from '@bankai/probes';
import { CliError, parseFlags, type Flags } from './args.js';
import { jsonFlag, type Command } from './shared.js';
import { runSearchCommand, search } from './search-commands.js';

/** The demo's target skill and its defaults (sized for about a minute on one or two cores). */
const DEMO = { skill: 'addition', iters: '40', layers: 'all', projs: 'gate,up,down' };

export const demo: Command = {
  summary: 'the main job: search a patch on the shipped tiny 1-bit model and show fixed / broken prompts',
  usage: 'bankai demo [--model tiny|small] [--skill NAME] [--iters N] [--workers N] [--seed N] [--out PATCH.json] [--overwrite] [--json]',
  flags: {
    model: { type: 'string', value: 'NAME', help: `the shipped model: ${SHIPPED_MODEL_NAMES.join(' or ')} (bankai-small: 8 layers x 256, about 10x slower)`, default: 'tiny' },
    skill: { type: 'string', value: 'NAME', help: 'the model\'s skill to fix (its SEARCH probes; its HELDOUT probes are held out)', default: DEMO.skill },
    iters: { type: 'number', value: 'N', help: 'search steps', default: Number(DEMO.iters) },
    workers: { type: 'number', value: 'N', help: 'evaluator threads', default: search.flags.workers!.default },
    seed: { type: 'number', value: 'N', help: 'random seed', default: 1 },
    out: { type: 'string', value: 'PATCH.json', help: 'where to write the patch (default: a new temporary folder)' },
    overwrite: { type: 'boolean', help: 'replace an existing --out patch and its checkpoint log' },
    json: { ...jsonFlag, help: 'print one JSON object (the demo\'s search command line, the search result and the final tables) instead of text' },
  },
  details: 'Equivalent to `bankai search` with --target SKILL#SKILL_SEARCH, --sample SKILL#SKILL_TRAIN, --heldout SKILL#SKILL_HELDOUT, --control\n' +
    'SKILL#SKILL_CONTROL and OTHER#OTHER_SEARCH, and --heldout-control OTHER#OTHER_HELDOUT for every other skill.',
  async run(flags: Flags, out) {
    const name = String(flags.model);
    if (!(SHIPPED_MODEL_NAMES as readonly string[]).includes(name)) {
      throw new CliError(`bankai demo: unknown --model "${name}"; the shipped models are ${SHIPPED_MODEL_NAMES.join(', ')} (for your own GGUF use bankai search --model FILE).`);
    }
    const shipped = shippedModel(name);
    const skill = String(flags.skill);
    if (!(shipped.skills as readonly string[]).includes(skill)) {
      throw new CliError(`bankai demo: unknown --skill "${skill}"; the ${name} model has ${shipped.skills.join(', ')}.`);
    }
    const s = skill as SkillName;
    const spec = (k: SkillName, set: 'SEARCH' | 'HELDOUT' | 'CONTROL' | 'TRAIN') => shippedProbeSpec(name as ShippedModelName, k, set);
    const outPath = (flags.out as string | undefined) ?? join(mkdtempSync(join(tmpdir(), 'bankai-demo-')), `${skill}.json`);
    const argv = [
      '--model', shipped.modelPath,
      '--target', spec(s, 'SEARCH'),
      // a natural sample of the skill (its training examples, in the model's own mix of right and
      // wrong answers): answers the patch must keep, and the pass rate that weighs the targets
      '--sample', spec(s, 'TRAIN'),
      // held out: every held-out example of the skill the search does not see (EVAL is a part of it)
      '--heldout', spec(s, 'HELDOUT'),
      // controls: the skill's CONTROL set and every other skill's SEARCH set (their HELDOUT sets stay
      // held out, to check that nothing else broke)
      '--control', spec(s, 'CONTROL'),
      ...shipped.skills.filter((o) => o !== s).flatMap((o) => ['--control', spec(o, 'SEARCH'), '--heldout-control', spec(o, 'HELDOUT')]),
      // everything else as `bankai search` defaults it (the gradient-guided strategy, the accuracy objective)
      '--iters', String(flags.iters), '--layers', DEMO.layers, '--projs', DEMO.projs,
      '--workers', String(flags.workers), '--seed', String(flags.seed), '--out', outPath,
      ...(flags.overwrite === true ? ['--overwrite'] : []),
    ];
    const json = flags.json === true;
    if (!json) out(`bankai demo: fix "${skill}" on the shipped ${name} 1-bit model (bankai search ${argv.join(' ')})\n`);
    const report = await runSearchCommand(parseFlags('search', search, argv), json ? () => {} : out);
    if (json) out(JSON.stringify({ demo: { model: name, skill, search: ['bankai', 'search', ...argv] }, ...report }));
  },
};
