// `--help` for the benchmark scripts: the comment block at the top of the script is its usage.
import { readFileSync } from 'node:fs';

/** Prints the leading `//` comment of the script at `url` and exits, when `--help` or `-h` was given. */
export function helpAndExit(url: string | URL): void {
  if (!process.argv.slice(2).some((a) => a === '--help' || a === '-h')) return;
  const lines = readFileSync(new URL(url), 'utf8').split('\n');
  const head: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('//')) break;
    head.push(line.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(`${head.join('\n')}\n`);
  process.exit(0);
}
