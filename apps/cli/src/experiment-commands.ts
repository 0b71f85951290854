// `bankai experiments` and `bankai report`: the upstream findings re-measured (the registry of
// @bankai/experiments) into DIR/results.json and DIR/report.html, and a search's own HTML page
// from its checkpoint log. This file parses, calls and prints.

import { existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileSource, sha256File, writeFileAtomic } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import {
  defaultSizes, EXPERIMENT_NAMES, ExperimentOptionError, formatVerdictTable, renderSearchReport, runExperiments, selectExperiments, summarizeSearchLog,
} from '@bankai/experiments';
import { dirStore, loadSkillProbes, writeResults } from '@bankai/experiments/node';
import { baseShapes, bitsFlipped } from '@bankai/patch-format';
import { readPatchFile } from '@bankai/patch-format/node';
import { shippedModel, SHIPPED_MODEL_NAMES } from '@bankai/probes';
import { readCheckpoint } from '@bankai/search/node';
import { CliError, GGUF_FILE, checkInputFile, positiveInt, requireFlag } from './args.js';
import { jsonFlag, type Command } from './shared.js';

const list = (v: unknown): string[] => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

export const experiments: Command = {
  summary: 'the upstream paper\'s findings re-measured over seeds: bootstrap CIs, random-patch nulls, verdicts; DIR/results.json and DIR/report.html',
  usage: 'bankai experiments [--model tiny|small|FILE] [--probes FILE...] [--only NAME,...] [--seeds N] [--quick] [--workers N] --out DIR [--json]',
  flags: {
    model: { type: 'string', value: 'tiny|small|FILE', help: 'a shipped model by name, or a Qwen3 1-bit GGUF (then --probes)', default: 'tiny' },
    probes: { type: 'list', value: 'FILE', help: 'probe files with <SKILL>_SEARCH, _CONTROL, _HELDOUT (and _TRAIN) sets (repeatable; default: the shipped model\'s)' },
    skill: { type: 'string', value: 'NAME', help: 'the skill the search experiments search (default: addition when there is one, else the first)' },
    'stack-with': { type: 'string', value: 'NAME', help: 'the second domain of stack-vs-joint (default: the first other skill)' },
    only: { type: 'string', value: 'NAME,...', help: `experiments to run: ${EXPERIMENT_NAMES.join(', ')} (default: all)` },
    seeds: { type: 'number', value: 'N', help: 'seeds 1..N (default 5; --quick: 3, at least 3)' },
    quick: { type: 'boolean', help: 'small sizes (3 seeds, 4 search steps, few probes and rows): a few minutes on the tiny model; what CI runs' },
    workers: { type: 'number', value: 'N', help: 'evaluator threads (results are the same for any count)', default: Math.max(1, Math.min(2, cpus().length)) },
    out: { type: 'string', value: 'DIR', help: 'results folder: experiments/NAME.json as each finishes (a rerun skips them), results.json, report.html' },
    json: { ...jsonFlag, help: 'print one JSON object (what results.json holds, with the files written and the experiments kept from an earlier run) instead of text' },
  },
  details: 'Each experiment\'s result is written atomically to DIR/experiments/NAME.json as it completes; a rerun with the\n' +
    'same model, skill, sizes and seeds keeps it. results.json (schema bankai-experiments/1) and report.html (one\n' +
    'self-contained page, plots as inline SVG) hold every experiment stored in DIR.',
  async run(flags, out) {
    const dir = requireFlag('experiments', flags, 'out');
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError(`bankai experiments: --out ${dir} is a file; pass a folder (it is created when missing).`);
    const only = list(flags.only);
    try {
      selectExperiments(only);
    } catch (e) {
      if (e instanceof ExperimentOptionError) throw new CliError(`bankai experiments: --only: ${e.message}.`);
      throw e;
    }
    const workers = positiveInt('experiments', flags, 'workers');
    let sizes;
    try {
      sizes = defaultSizes({ quick: flags.quick === true, seeds: flags.seeds as number | undefined, workers });
    } catch (e) {
      throw new CliError(`bankai experiments: --${(e as Error).message}.`);
    }
    const name = String(flags.model);
    const shipped = (SHIPPED_MODEL_NAMES as readonly string[]).includes(name) ? shippedModel(name) : undefined;
    const modelPath = shipped ? shipped.modelPath : checkInputFile(name, 'model', GGUF_FILE);
    const probeFiles = (flags.probes as string[] | undefined) ?? [];
    if (probeFiles.length === 0 && !shipped) throw new CliError(`bankai experiments: --model ${name} is not a shipped model; pass its probe files with --probes FILE (sets <SKILL>_SEARCH, _CONTROL, _HELDOUT).`);
    if (!existsSync(modelPath)) throw new CliError(`bankai experiments: the ${name} model is not there yet (${modelPath}); pass --model FILE.`);
    const skills = await loadSkillProbes(probeFiles.length > 0 ? probeFiles : shipped!.skills.map((s) => shipped!.probePath(s)));
    const skill = typeof flags.skill === 'string' ? flags.skill : skills.some((s) => s.name === 'addition') ? 'addition' : skills[0]!.name;
    if (!skills.some((s) => s.name === skill)) throw new CliError(`bankai experiments: --skill ${skill}: no such skill in the probe files; one of ${skills.map((s) => s.name).join(', ')}.`);
    const started = new Date();
    const sha256 = await sha256File(modelPath);
    const src = await fileSource(modelPath);
    let model: Model;
    try {
      model = await Model.load(src);
    } finally {
      await src.close();
    }
    const json = flags.json === true;
    if (!json) out(`bankai experiments: ${modelPath} (sha256 ${sha256.slice(0, 12)}...), skill ${skill}, seeds ${sizes.seeds.join(',')}${flags.quick ? ', --quick' : ''}, ${workers} worker(s) -> ${dir}`);
    let r;
    try {
      const stackWith = typeof flags['stack-with'] === 'string' ? flags['stack-with'] : undefined;
      r = await runExperiments({ model, modelSha256: sha256, skills, skill, ...(stackWith ? { stackWith } : {}) }, {
        only, sizes, store: dirStore(dir), onProgress: (m) => process.stderr.write(`${m}\n`),
      });
    } catch (e) {
      // the experiments finished before it are stored: a rerun (e.g. with --only) keeps them
      if (e instanceof ExperimentOptionError) throw new CliError(`bankai experiments: ${e.message}.`);
      throw e;
    }
    const written = await writeResults({ dir, model: { path: modelPath, sha256 }, seeds: sizes.seeds, quick: flags.quick === true, command: ['bankai', ...process.argv.slice(2)], started });
    if (json) {
      out(JSON.stringify({ resultsPath: written.resultsPath, reportPath: written.reportPath, measured: r.results.map((x) => x.name).filter((n) => !r.skipped.includes(n)), kept: r.skipped, ...written.results }));
      return;
    }
    out('');
    out(formatVerdictTable(r.results));
    out('');
    out(`${r.results.length - r.skipped.length} measured, ${r.skipped.length} kept from an earlier run${r.skipped.length ? ` (${r.skipped.join(', ')})` : ''}`);
    out(`wrote ${written.resultsPath} (${written.results.experiments.length} experiments) and ${written.reportPath}`);
  },
};

export const report: Command = {
  summary: 'a search\'s own HTML page from its checkpoint log: fitness and flips over steps, flips per layer and projection, before/after with the null',
  usage: 'bankai report PATCH.json.log.jsonl --out report.html [--overwrite] [--json]',
  positional: 'log',
  flags: {
    log: { type: 'string', value: 'FILE', help: 'the checkpoint log bankai search wrote beside its patch (PATCH.json.log.jsonl); also the first argument' },
    out: { type: 'string', value: 'FILE.html', help: 'the page to write (one self-contained HTML file)' },
    overwrite: { type: 'boolean', help: 'replace an existing --out page' },
    json: { ...jsonFlag, help: 'print one JSON object (the page\'s path and the log\'s summary it draws) instead of text' },
  },
  details: 'The patch beside the log (the log\'s name without .log.jsonl), when it is there, adds its size and real bits flipped.',
  async run(flags, out) {
    const log = requireFlag('report', flags, 'log');
    const dest = requireFlag('report', flags, 'out');
    checkInputFile(log, 'log', 'a search checkpoint log (PATCH.json.log.jsonl)');
    if (existsSync(dest) && !statSync(dest).isDirectory() && flags.overwrite !== true) throw new CliError(`bankai report: ${dest} exists; pass --overwrite to replace it.`);
    const records = readCheckpoint(log);
    let summary;
    try {
      summary = summarizeSearchLog(records, log);
    } catch (e) {
      if (e instanceof RangeError) throw new CliError(`bankai report: ${e.message}.`);
      throw e;
    }
    const patchPath = log.replace(/\.log\.jsonl$/, '');
    let patch;
    if (patchPath !== log && existsSync(patchPath)) {
      const { manifest } = await readPatchFile(patchPath);
      patch = { file: patchPath, bytes: statSync(patchPath).size, bitsFlipped: bitsFlipped(manifest.flips, baseShapes(manifest.base)) ?? null };
    }
    const html = await renderSearchReport(summary, { log, patch });
    if (!existsSync(dirname(resolve(dest)))) throw new CliError(`bankai report: --out ${dest}: the folder ${dirname(resolve(dest))} does not exist; create it first.`);
    await writeFileAtomic(dest, html, { overwrite: flags.overwrite === true });
    if (flags.json === true) {
      out(JSON.stringify({ out: dest, log, ...(patch ? { patch } : {}), summary }));
      return;
    }
    out(`wrote ${dest}: ${summary.steps.length} steps, ${summary.flips.length} flips, ${summary.evaluations.length} before/after tables`);
  },
};
