#!/usr/bin/env node
// `bankai`: the command-line edge of the toolkit. Bad input (the project's typed errors and
// CliError) prints as one clear line, exit 1; anything else is a bug in Bankai: a stack trace,
// exit 70, and a request to report it. A closed stdout (`bankai audit ... | head -1`) ends the
// command quietly.

import { readFileSync } from 'node:fs';
import { enableRelaxedSimd } from '@bankai/engine-wasm/node';
import { CliError, formatHelp, parseFlags } from './args.js';
import { commands } from './commands.js';
import { isUserError } from './errors.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const USAGE = `bankai ${PACKAGE.version}: sparse XOR patches for true 1-bit LLMs (Qwen3 / Bonsai GGUF, Q1_0)

usage: bankai <command> [flags]        bankai <command> --help        bankai --version

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.replace(/^(patch|probes)-/, '$1 ').padEnd(15)}${c.summary}`)
  .join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  // the faster, bit-identical relaxed-SIMD engine where the runtime has it (Node 20: behind a flag)
  enableRelaxedSimd();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${PACKAGE.version}\n`);
    return 0;
  }
  // `bankai patch info ...` is `bankai patch-info ...` (and `bankai probes fresh`, `probes-fresh`)
  if (rest[0] && !rest[0].startsWith('-') && commands[`${name}-${rest[0]}`]) return main([`${name}-${rest[0]}`, ...rest.slice(1)]);
  const cmd = commands[name];
  if (!cmd) throw new CliError(`bankai: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}.`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(name, cmd) + '\n');
    return 0;
  }
  const args = cmd.positional && rest[0] !== undefined && !rest[0].startsWith('-') ? [`--${cmd.positional}`, ...rest] : rest;
  const flags = parseFlags(name, cmd, args);
  await cmd.run(flags, (s) => process.stdout.write(s + '\n'));
  return 0;
}

// A reader that went away (`| head -1`): stop quietly, as a pipeline expects.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode === undefined || process.exitCode === 0 ? 0 : Number(process.exitCode));
    throw e;
  });
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
      process.stderr.write(`bankai ${PACKAGE.version}: internal error: a bug in bankai, not in your input. ` +
        `Please report it with the command line and this trace:\n${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
