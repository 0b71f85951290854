// Flag parsing for the `bankai` command: each command declares its flags as data, and both the
// parser and `--help` read that table, so help text cannot drift from what is accepted.

import { statSync } from 'node:fs';

export class CliError extends Error {
  override name = 'CliError';
}

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'list';
  help: string;
  /** Shown in help as the value placeholder. */
  value?: string;
  default?: string | number | boolean;
  /** Other names accepted for the same flag (one concept, one name: the other commands' name). */
  aliases?: string[];
}

export interface CommandSpec {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  details?: string;
}

export type Flags = Record<string, string | number | boolean | string[] | undefined>;

/** Parse `--name value`, `--name=value` and boolean `--name` / `--no-name` / `--name false` against `spec`. */
export function parseFlags(command: string, spec: CommandSpec, argv: string[]): Flags {
  const out: Flags = {};
  const aliasOf = new Map<string, string>();
  for (const [name, f] of Object.entries(spec.flags)) {
    if (f.default !== undefined) out[name] = f.default;
    for (const a of f.aliases ?? []) aliasOf.set(a, name);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      throw new CliError(`bankai ${command}: unexpected argument "${arg}". Flags start with --; see \`bankai ${command} --help\`.`);
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = aliasOf.get(name) ?? name;
    let f = spec.flags[name];
    const negated = name.startsWith('no-') ? aliasOf.get(name.slice(3)) ?? name.slice(3) : undefined;
    if (!f && negated !== undefined && spec.flags[negated]?.type === 'boolean' && value === undefined) {
      out[negated] = false;
      continue;
    }
    if (!f) {
      const known = Object.keys(spec.flags).map((k) => `--${k}`).join(', ');
      throw new CliError(`bankai ${command}: unknown flag --${name}. Known flags: ${known}.`);
    }
    if (f.type === 'boolean') {
      // `--name false` / `--name true` as well as `--name=false`, `--no-name` and a bare `--name`
      if (value === undefined && (argv[i + 1] === 'true' || argv[i + 1] === 'false')) value = argv[++i];
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new CliError(`bankai ${command}: --${name} takes no value (or =true / =false), got "${value}".`);
      }
      out[name] = value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new CliError(`bankai ${command}: --${name} needs a value (${f.value ?? f.type}).`);
    }
    if (f.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) {
        throw new CliError(`bankai ${command}: --${name} must be a number, got "${value}".`);
      }
      out[name] = n;
    } else if (f.type === 'list') {
      out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    } else {
      out[name] = value;
    }
  }
  return out;
}

export function requireFlag(command: string, flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') {
    throw new CliError(`bankai ${command}: --${name} is required. See \`bankai ${command} --help\`.`);
  }
  return v;
}

/** An integer flag >= `min`, or a CliError naming the flag, the bound and the value: the one
 *  integer check of every command. `note` says what the bound means ("0: no null"). */
export function intFlag(command: string, flags: Flags, name: string, min: number, note?: string): number {
  const v = flags[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    const what = min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    throw new CliError(`bankai ${command}: --${name} must be ${what}${note ? ` (${note})` : ''}, got ${String(v)}.`);
  }
  return v;
}

/** A positive integer flag (intFlag with min 1). */
export function positiveInt(command: string, flags: Flags, name: string): number {
  return intFlag(command, flags, name, 1);
}

/** What a --model flag takes, for messages: "pass the path of ...". */
export const GGUF_FILE = 'a GGUF model file (.gguf)';
/** What a --patch flag takes. */
export const PATCH_FILE = 'a patch file (.json manifest or upstream, or .bkp)';

/** Checks that `path` (given as --flag) is an existing regular file: a CliError naming the path,
 *  the flag and the fix otherwise (never a raw ENOENT / EISDIR). `what` completes "pass the path of ...". */
export function checkInputFile(path: string, flag: string, what: string): string {
  let info;
  try {
    info = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${path}: no such file (--${flag}). Check the path.`);
    throw new CliError(`${path}: cannot read it (--${flag}: ${code ?? (e as Error).message}). Pass the path of ${what} you can read.`);
  }
  if (info.isDirectory()) throw new CliError(`${path}: is a directory, not a file (--${flag}). Pass the path of ${what}.`);
  if (!info.isFile()) throw new CliError(`${path}: is not a regular file (--${flag}). Pass the path of ${what}.`);
  return path;
}

/** The required --flag, which must name an existing regular file. */
export function requireInputFile(command: string, flags: Flags, name: string, what: string): string {
  return checkInputFile(requireFlag(command, flags, name), name, what);
}

export function formatHelp(command: string, spec: CommandSpec): string {
  const lines = [`bankai ${command}: ${spec.summary}`, '', `usage: ${spec.usage}`, ''];
  const names = (k: string, f: FlagSpec) => [k, ...(f.aliases ?? [])].map((n) => `--${n}`).join(', ');
  const width = Math.max(...Object.entries(spec.flags).map(([k, f]) => names(k, f).length + (f.value ? f.value.length + 1 : 0))) + 2;
  for (const [name, f] of Object.entries(spec.flags)) {
    const left = `${names(name, f)}${f.value ? ' ' + f.value : ''}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : '';
    lines.push(`  ${left.padEnd(width)}${f.help}${def}`);
  }
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}
