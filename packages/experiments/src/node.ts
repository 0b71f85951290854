// File edges of the experiments (Node): probe files to skills, the results folder (one atomic
// JSON file per finished experiment, then results.json and report.html), provenance.
//
//   DIR/experiments/NAME.json   each experiment's result as it completes (a rerun skips it)
//   DIR/results.json            every stored result of the registry, validated (schema.ts)
//   DIR/report.html             the self-contained page (report.ts)
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@bankai/gguf/node';
import type { Probe } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { EXPERIMENTS, type SkillProbes } from './experiments.js';
import { renderExperimentsReport } from './report.js';
import type { ResultStore } from './runner.js';
import { parseExperimentResult, parseResults, RESULTS_SCHEMA, ResultsFileSchema, type ExperimentResult, type Provenance, type ResultsFile } from './schema.js';

const SET_KINDS = ['SEARCH', 'CONTROL', 'HELDOUT', 'TRAIN'] as const;

/** Thrown for a probe file that cannot give an experiment skill: names the file and what is missing. */
export class ExperimentInputError extends Error {
  override name = 'ExperimentInputError';
}

/**
 * Skills from probe files laid out as the shipped models' (`<SKILL>_SEARCH`, `_CONTROL`, `_HELDOUT`
 * and optionally `_TRAIN` sets; one or more skills a file). A file without a complete skill is an error.
 */
export async function loadSkillProbes(files: readonly string[]): Promise<SkillProbes[]> {
  const skills: SkillProbes[] = [];
  for (const file of files) {
    const loaded = await readProbeFile(file);
    const sets = new Map(loaded.file.sets.map((s) => [s.name, s.probes as Probe[]]));
    const prefixes = [...sets.keys()].filter((n) => n.endsWith('_SEARCH')).map((n) => n.slice(0, -'_SEARCH'.length));
    if (prefixes.length === 0) throw new ExperimentInputError(`${file}: no <SKILL>_SEARCH set; an experiment skill needs <SKILL>_SEARCH, _CONTROL and _HELDOUT sets (as the shipped models' probe files have)`);
    for (const prefix of prefixes) {
      for (const k of ['CONTROL', 'HELDOUT'] as const) {
        if (!sets.has(`${prefix}_${k}`)) throw new ExperimentInputError(`${file}: set ${prefix}_SEARCH has no ${prefix}_${k} beside it; add it (the experiments guard with CONTROL and judge on HELDOUT)`);
      }
      const get = (k: (typeof SET_KINDS)[number]) => sets.get(`${prefix}_${k}`) ?? [];
      skills.push({ name: prefix.toLowerCase(), search: get('SEARCH'), control: get('CONTROL'), heldout: get('HELDOUT'), train: get('TRAIN') });
    }
  }
  return skills;
}

/** A store in DIR/experiments/: one JSON file per experiment, written atomically (temp file + rename). */
export function dirStore(dir: string): ResultStore {
  const folder = join(dir, 'experiments');
  return {
    load(name) {
      const path = join(folder, `${name}.json`);
      if (!existsSync(path)) return null;
      try {
        return parseExperimentResult(JSON.parse(readFileSync(path, 'utf8')));
      } catch {
        return null; // torn or foreign: measured again
      }
    },
    async save(result) {
      await mkdir(folder, { recursive: true });
      await writeFileAtomic(join(folder, `${result.name}.json`), `${JSON.stringify(result, null, 1)}\n`, { overwrite: true });
    },
  };
}

/** Every result stored in DIR, in registry order (results of earlier runs with other --only included). */
export function storedResults(dir: string): ExperimentResult[] {
  const store = dirStore(dir);
  return EXPERIMENTS.map((e) => store.load(e.name)).filter((r): r is ExperimentResult => r !== null);
}

/** name -> version of @bankai/experiments and the packages it measures with, and the plotting and schema libraries. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of ['@bankai/experiments', '@bankai/model', '@bankai/search', '@bankai/probes', '@bankai/strategy-guided', 'vega', 'vega-lite', 'zod']) {
    try {
      let dir = dirname(fileURLToPath(spec === '@bankai/experiments' ? import.meta.url : import.meta.resolve(spec)));
      for (let i = 0; i < 8; i++, dir = dirname(dir)) {
        const p = join(dir, 'package.json');
        if (!existsSync(p)) continue;
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === spec && pkg.version) {
          out[spec] = pkg.version;
          break;
        }
      }
    } catch {
      out[spec] = 'unknown';
    }
  }
  return out;
}

export interface WriteResultsInput {
  dir: string;
  model: { path: string; sha256: string };
  seeds: number[];
  quick: boolean;
  command: string[];
  started: Date;
}

/** Writes DIR/results.json (validated against the schema) and DIR/report.html from every stored result. */
export async function writeResults(input: WriteResultsInput): Promise<{ results: ResultsFile; resultsPath: string; reportPath: string }> {
  const provenance: Provenance = {
    model: { path: input.model.path, sha256: input.model.sha256, bytes: statSync(input.model.path).size },
    packages: packageVersions(),
    node: process.version,
    seeds: input.seeds,
    quick: input.quick,
    command: input.command,
    started: input.started.toISOString(),
    finished: new Date().toISOString(),
  };
  const results = ResultsFileSchema.parse({ schema: RESULTS_SCHEMA, provenance, experiments: storedResults(input.dir) });
  const resultsPath = join(input.dir, 'results.json');
  const reportPath = join(input.dir, 'report.html');
  await mkdir(input.dir, { recursive: true });
  await writeFileAtomic(resultsPath, `${JSON.stringify(results, null, 1)}\n`, { overwrite: true });
  await writeFileAtomic(reportPath, await renderExperimentsReport(results), { overwrite: true });
  return { results, resultsPath, reportPath };
}

/** Reads and validates a results.json. */
export function readResults(path: string): ResultsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ExperimentInputError(`${path}: cannot be read (${(e as Error).message}); pass the results.json that \`bankai experiments --out DIR\` wrote`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ExperimentInputError(`${path}: not JSON; pass the results.json that \`bankai experiments --out DIR\` wrote`);
  }
  return parseResults(value, path);
}
