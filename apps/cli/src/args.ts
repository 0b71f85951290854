// Flag parsing for the `bankai` command: each command declares its flags as data, and both the
// parser and `--help` read that table, so help text cannot drift from what is accepted.

export class CliError extends Error {
  override name = 'CliError';
}

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'list';
  help: string;
  /** Shown in help as the value placeholder. */
  value?: string;
  default?: string | number | boolean;
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
  for (const [name, f] of Object.entries(spec.flags)) if (f.default !== undefined) out[name] = f.default;
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
    let f = spec.flags[name];
    if (!f && name.startsWith('no-') && spec.flags[name.slice(3)]?.type === 'boolean' && value === undefined) {
      out[name.slice(3)] = false;
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

export function formatHelp(command: string, spec: CommandSpec): string {
  const lines = [`bankai ${command}: ${spec.summary}`, '', `usage: ${spec.usage}`, ''];
  const width = Math.max(...Object.entries(spec.flags).map(([k, f]) => k.length + (f.value ? f.value.length + 1 : 0))) + 4;
  for (const [name, f] of Object.entries(spec.flags)) {
    const left = `--${name}${f.value ? ' ' + f.value : ''}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : '';
    lines.push(`  ${left.padEnd(width)}${f.help}${def}`);
  }
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}
