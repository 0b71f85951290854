#!/usr/bin/env node
// `bankai`: the command-line edge of the toolkit. Known errors print as one clear message
// (exit 1); only a bug in Bankai itself prints a stack trace.

import { GgufError } from '@bankai/gguf';
import { ModelConfigError } from '@bankai/model';
import { CliError, formatHelp, parseFlags } from './args.js';
import { commands } from './commands.js';

const USAGE = `bankai: sparse XOR patches for true 1-bit LLMs (Qwen3 / Bonsai GGUF, Q1_0)

usage: bankai <command> [flags]        bankai <command> --help

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.replace(/^(patch|probes)-/, '$1 ').padEnd(15)}${c.summary}`)
  .join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  // `bankai patch info ...` is `bankai patch-info ...` (and `bankai probes fresh`, `probes-fresh`)
  if (rest[0] && !rest[0].startsWith('-') && commands[`${name}-${rest[0]}`]) return main([`${name}-${rest[0]}`, ...rest.slice(1)]);
  const cmd = commands[name];
  if (!cmd) throw new CliError(`bankai: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}.`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(name, cmd) + '\n');
    return 0;
  }
  const flags = parseFlags(name, cmd, rest);
  await cmd.run(flags, (s) => process.stdout.write(s + '\n'));
  return 0;
}

/** Errors that describe bad input (files, flags, options): printed as one line, not a stack. */
const USER_ERRORS = new Set(['PatchFormatError', 'ProbeFormatError', 'StrategyError', 'FileExistsError', 'ServeConfigError']);

function isUserError(e: unknown): e is Error {
  return e instanceof CliError || e instanceof GgufError || e instanceof ModelConfigError ||
    (e instanceof Error && (USER_ERRORS.has(e.name) || e instanceof RangeError));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`bankai: internal error (please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
