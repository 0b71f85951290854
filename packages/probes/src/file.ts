// Probe files: parsing, strict validation and set selection. Runtime-neutral (text or a parsed
// JSON value in, a ProbeFile out); reading from disk lives in ./node.ts.
//
// Accepted shapes (all three upstream Bankai probe files load unchanged):
//   { "source"?: "...", "sets": { "NAME": [probe, ...], ... }, ...other metadata }   upstream
//   { "source"?: "...", "probes": [probe, ...] }                                     one set "probes"
//   [probe, ...]                                                                     one set "probes"
// probe = { "name"?, "category"?, "prompt", "correct", "wrong"?, "alternates"?: [..] }, strings.
// A probe without a name is named `<set>_<index>`.

import { MAX_JSON_DEPTH, jsonLimitProblem } from '@bankai/patch-format';
import { ProbeFormatError } from './errors.js';
import type { Probe, ProbeFile, ProbeSet } from './types.js';

/** The keys a probe may have (upstream's, exactly). */
export const PROBE_KEYS = ['name', 'category', 'prompt', 'correct', 'wrong', 'alternates'] as const;

/** The set name given to the probes of a plain array or a `{ "probes": [...] }` file. */
export const DEFAULT_SET_NAME = 'probes';

const FORMAT_HELP = 'a probe file is {"sets": {"NAME": [probe, ...]}}, {"probes": [probe, ...]} or [probe, ...], ' +
  'each probe {"name", "category", "prompt", "correct", "wrong", "alternates"}';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${s.length > 40 ? s.slice(0, 37) + '...' : s}`;
};

/** Longest probe file read, in characters (the largest upstream one is ~30 kB). */
export const MAX_PROBE_TEXT = 64 << 20;

/** Parse and validate a probe file. `input` is JSON text or an already parsed value: at most
 *  MAX_PROBE_TEXT characters, nested at most MAX_JSON_DEPTH deep, no prototype keys. */
export function parseProbeFile(input: unknown, file = '<probes>'): ProbeFile {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_PROBE_TEXT) {
      throw new ProbeFormatError(`is ${input.length} characters, more than any probe file (${MAX_PROBE_TEXT})`, { file, fix: 'pass a probe JSON file, not a model or a data dump' });
    }
    try {
      value = JSON.parse(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
    } catch (e) {
      throw new ProbeFormatError(`not valid JSON (${(e as Error).message})`, { file, fix: FORMAT_HELP });
    }
  }
  const limit = jsonLimitProblem(value, MAX_JSON_DEPTH);
  if (limit) throw new ProbeFormatError(limit.problem, { file, path: limit.path || '(top level)', fix: limit.fix });
  if (Array.isArray(value)) {
    return { file, sets: [parseSet(value, DEFAULT_SET_NAME, '', file)] };
  }
  if (!isObject(value)) {
    throw new ProbeFormatError(`the top level is ${show(value)}`, { file, fix: FORMAT_HELP });
  }
  const hasSets = 'sets' in value;
  const hasProbes = 'probes' in value;
  if (hasSets === hasProbes) {
    throw new ProbeFormatError(hasSets ? 'has both "sets" and "probes"' : 'has neither "sets" nor "probes"', {
      file, fix: FORMAT_HELP,
    });
  }
  let source: string | undefined;
  if (value.source !== undefined) {
    if (typeof value.source !== 'string') throw new ProbeFormatError(`is ${show(value.source)}, not a string`, { file, path: 'source', fix: 'make "source" a string or remove it' });
    source = value.source;
  }
  const sets: ProbeSet[] = [];
  if (hasProbes) {
    sets.push(parseSet(value.probes, DEFAULT_SET_NAME, 'probes', file));
  } else {
    const raw = value.sets;
    if (!isObject(raw)) throw new ProbeFormatError(`is ${show(raw)}, not an object`, { file, path: 'sets', fix: 'make "sets" an object of named probe lists: {"NAME": [probe, ...]}' });
    const names = Object.keys(raw);
    if (names.length === 0) throw new ProbeFormatError('holds no sets', { file, path: 'sets', fix: 'add at least one named probe list: {"NAME": [probe, ...]}' });
    for (const name of names) {
      if (name === '' || /[#,]/.test(name)) {
        throw new ProbeFormatError(`set name ${JSON.stringify(name)} is empty or contains "#" or ","`, { file, path: `sets`, fix: 'rename the set (it is selected as file.json#NAME1,NAME2)' });
      }
      sets.push(parseSet(raw[name], name, `sets.${name}`, file));
    }
  }
  return source === undefined ? { file, sets } : { file, source, sets };
}

function parseSet(raw: unknown, name: string, path: string, file: string): ProbeSet {
  if (!Array.isArray(raw)) throw new ProbeFormatError(`is ${show(raw)}, not an array of probes`, { file, path: path || '(top level)', fix: FORMAT_HELP });
  if (raw.length === 0) throw new ProbeFormatError('is an empty probe list', { file, path: path || '(top level)', fix: 'add probes to it or remove it' });
  const seen = new Map<string, number>();
  const probes = raw.map((p, i) => {
    const probe = parseProbe(p, `${path}[${i}]`, file, `${name}_${i}`);
    const before = seen.get(probe.name);
    if (before !== undefined) {
      throw new ProbeFormatError(`duplicate probe name ${JSON.stringify(probe.name)} (also ${path}[${before}])`, {
        file, path: `${path}[${i}].name`, fix: 'give every probe of a set its own name',
      });
    }
    seen.set(probe.name, i);
    return probe;
  });
  return { name, probes };
}

function parseProbe(raw: unknown, path: string, file: string, defaultName: string): Probe {
  if (!isObject(raw)) throw new ProbeFormatError(`is ${show(raw)}, not a probe object`, { file, path, fix: 'each probe is {"prompt": "...", "correct": "...", "wrong": "..."}' });
  for (const key of Object.keys(raw)) {
    if (!(PROBE_KEYS as readonly string[]).includes(key)) {
      throw new ProbeFormatError(`unknown key "${key}"`, { file, path: `${path}.${key}`, fix: `a probe's keys are ${PROBE_KEYS.join(', ')}` });
    }
  }
  const text = (key: string, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined) {
      if (required) throw new ProbeFormatError(`is missing`, { file, path: `${path}.${key}`, fix: `every probe needs "${key}" (a non-empty string)` });
      return undefined;
    }
    if (typeof v !== 'string') throw new ProbeFormatError(`is ${show(v)}, not a string`, { file, path: `${path}.${key}`, fix: `make "${key}" a string` });
    if (v === '' && key !== 'category') throw new ProbeFormatError('is an empty string', { file, path: `${path}.${key}`, fix: `write the ${key} text (answers usually start with a space: " 42")` });
    return v;
  };
  const name = text('name', false) ?? defaultName;
  const category = text('category', false);
  const prompt = text('prompt', true)!;
  const correct = text('correct', true)!;
  const wrong = text('wrong', false);
  let alternates: string[] | undefined;
  if (raw.alternates !== undefined) {
    if (!Array.isArray(raw.alternates)) throw new ProbeFormatError(`is ${show(raw.alternates)}, not an array`, { file, path: `${path}.alternates`, fix: 'make "alternates" an array of answer strings: [" 0.5"]' });
    alternates = raw.alternates.map((a, j) => {
      if (typeof a !== 'string' || a === '') {
        throw new ProbeFormatError(`is ${show(a)}, not a non-empty string`, { file, path: `${path}.alternates[${j}]`, fix: 'each alternate is an answer string like " 0.5"' });
      }
      return a;
    });
  }
  return {
    name,
    ...(category !== undefined ? { category } : {}),
    prompt,
    correct,
    ...(wrong !== undefined ? { wrong } : {}),
    ...(alternates !== undefined ? { alternates } : {}),
  };
}

// ---- selection: file.json#SET1,SET2 -------------------------------------------------------------

export interface ProbeSpec {
  /** The file part. */
  path: string;
  /** The selected set names; undefined = every set. */
  sets?: string[];
}

/**
 * Split `path#SET1,SET2` at its last `#`. (A file name containing `#` is read whole by
 * readProbeFile when it exists as written.)
 */
export function parseProbeSpec(spec: string): ProbeSpec {
  const hash = spec.lastIndexOf('#');
  if (hash < 0) return { path: spec };
  const path = spec.slice(0, hash);
  const sets = spec.slice(hash + 1).split(',').map((s) => s.trim());
  if (path === '' || sets.some((s) => s === '')) {
    throw new ProbeFormatError(`bad probe selection "${spec}"`, { fix: 'write FILE or FILE#SET or FILE#SET1,SET2 (set names without spaces around commas)' });
  }
  return { path, sets };
}

/** The named sets of a file (all of them when `names` is undefined), in the order asked. */
export function selectSets(file: ProbeFile, names?: readonly string[]): ProbeSet[] {
  if (names === undefined) return file.sets;
  return names.map((n) => {
    const set = file.sets.find((s) => s.name === n);
    if (!set) {
      throw new ProbeFormatError(`has no probe set "${n}"`, {
        file: file.file, fix: `choose from: ${file.sets.map((s) => s.name).join(', ')} (as ${file.file}#NAME)`,
      });
    }
    return set;
  });
}

const probeKey = (p: Probe): string => JSON.stringify([p.name, p.category, p.prompt, p.correct, p.wrong, p.alternates]);

/**
 * The probes of the selected sets, concatenated in order. A probe identical to one already taken
 * (upstream's ALL_TRAIN repeats the other sets) is taken once.
 */
export function selectProbes(file: ProbeFile, names?: readonly string[]): Probe[] {
  return dedupeProbes(selectSets(file, names).flatMap((s) => s.probes));
}

/** Drop probes identical (every field) to an earlier one. */
export function dedupeProbes(probes: readonly Probe[]): Probe[] {
  const seen = new Set<string>();
  const out: Probe[] = [];
  for (const p of probes) {
    const k = probeKey(p);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out;
}

/** A probe file back to JSON text in the upstream shape (stable key order). */
export function formatProbeFile(file: Pick<ProbeFile, 'source' | 'sets'>): string {
  const sets: Record<string, Probe[]> = {};
  for (const s of file.sets) sets[s.name] = s.probes;
  return JSON.stringify(file.source !== undefined ? { source: file.source, sets } : { sets }, null, 1) + '\n';
}
