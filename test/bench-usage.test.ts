// DEVELOPERS.md promises that every benchmark prints its usage with --help: each bench script
// (a file under bench/ with a `Usage:` line in its leading comment) must call helpAndExit.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bench = join(import.meta.dirname, '..', 'bench');
const leadingComment = (text: string): string => {
  const head: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('//')) break;
    head.push(line);
  }
  return head.join('\n');
};

describe('bench scripts', () => {
  const scripts = readdirSync(bench)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f, text: readFileSync(join(bench, f), 'utf8') }))
    .filter(({ text }) => /Usage:/.test(leadingComment(text)));

  it('are found (the check would pass vacuously otherwise)', () => {
    expect(scripts.map((s) => s.file)).toEqual(expect.arrayContaining(['search-study.ts', 'stack-study.ts', 'evolution-study.ts', 'search.ts']));
  });

  it.each(scripts.map((s) => [s.file, s.text] as const))('%s prints its usage with --help', (_file, text) => {
    expect(text).toMatch(/^helpAndExit\(import\.meta\.url\);$/m);
  });
});
