// @bankai/probes/node: probe files on disk (Node, and Deno/Bun through their node: compatibility).
// `readProbeFile('probes.json#SET1,SET2')` reads, validates and selects; the sha256 of the file's
// bytes goes into patch provenance. Writes are atomic (temp file in the same folder, then rename).

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@bankai/gguf/node';
import { ProbeFormatError } from './errors.js';
import { formatProbeFile, parseProbeFile, parseProbeSpec, selectProbes, selectSets } from './file.js';
import type { Probe, ProbeFile, ProbeSet } from './types.js';

/** Upper bound on a probe file (the largest upstream one is ~30 kB). */
export const MAX_PROBE_FILE_BYTES = 64 << 20;

export interface LoadedProbes {
  /** The whole parsed file. */
  file: ProbeFile;
  /** The path read (without the #SETS part). */
  path: string;
  /** The selected set names (every set when none were asked for). */
  sets: string[];
  /** The selected probes, concatenated, exact duplicates dropped. */
  probes: Probe[];
  /** sha256 (lowercase hex) of the file's bytes. */
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Read `path` or `path#SET1,SET2`. A path that exists as written (even with a `#`) is read whole. */
export async function readProbeFile(spec: string): Promise<LoadedProbes> {
  const whole = await stat(spec).then((s) => s.isFile(), () => false);
  const { path, sets: names } = whole ? { path: spec, sets: undefined } : parseProbeSpec(spec);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new ProbeFormatError('no such file', { file: path, fix: 'pass the path of a probe JSON file (optionally FILE#SET1,SET2)' });
  if (!info.isFile()) throw new ProbeFormatError('is not a file', { file: path, fix: 'pass the path of a probe JSON file' });
  if (info.size > MAX_PROBE_FILE_BYTES) {
    throw new ProbeFormatError(`is ${info.size} bytes, more than any probe file (${MAX_PROBE_FILE_BYTES})`, { file: path, fix: 'pass a probe JSON file, not a model or a data dump' });
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ProbeFormatError(`cannot be read (${(e as Error).message})`, { file: path, fix: 'pass the path of a readable probe JSON file' });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ProbeFormatError('is not UTF-8 text', { file: path, fix: 'pass a probe JSON file' });
  }
  const file = parseProbeFile(text, path);
  const chosen: ProbeSet[] = selectSets(file, names);
  return { file, path, sets: chosen.map((s) => s.name), probes: selectProbes(file, names), sha256: sha256Hex(bytes) };
}

/** sha256 over several probe files (for provenance): of one file its own; of several, of their hashes joined by newlines. */
export function combinedSha256(loaded: readonly Pick<LoadedProbes, 'sha256'>[]): string {
  if (loaded.length === 1) return loaded[0]!.sha256;
  return sha256Hex(new TextEncoder().encode(loaded.map((l) => l.sha256).join('\n')));
}


/** Write a probe file (upstream shape) atomically. */
export async function writeProbeFile(path: string, file: Pick<ProbeFile, 'source' | 'sets'>, opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, formatProbeFile(file), opts);
}
