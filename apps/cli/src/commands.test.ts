// The command table as data: every command that prints a result takes --json, and one concept has
// one flag name across commands (the old names are aliases, listed in help).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError, formatHelp, intFlag, parseFlags, positiveInt } from './args.js';
import { commands } from './commands.js';

describe('the bankai command table', () => {
  it('every command but serve (a server, no result) takes --json', () => {
    const without = Object.entries(commands).filter(([, c]) => c.flags.json?.type !== 'boolean').map(([n]) => n);
    expect(without).toEqual(['serve']);
  });

  it('one name per concept: the model file is --model, target probes accept --target; old names still parse', () => {
    for (const [name, c] of Object.entries(commands)) {
      expect(c.flags.base, `${name} --base`).toBeUndefined();
      for (const f of Object.values(c.flags)) for (const a of f.aliases ?? []) expect(c.flags[a], `${name}: alias --${a} is also a flag`).toBeUndefined();
    }
    for (const name of ['patch-diff', 'patch-verify']) {
      const c = commands[name]!;
      expect(parseFlags(name, c, ['--base', 'a.gguf']).model).toBe('a.gguf');
      expect(parseFlags(name, c, ['--model', 'a.gguf']).model).toBe('a.gguf');
      expect(formatHelp(name, c)).toContain('--model, --base FILE');
      expect(c.usage).toContain('--model FILE');
    }
    expect(parseFlags('eval', commands.eval!, ['--target', 'a.json#S', '--probes', 'b.json']).probes).toEqual(['a.json#S', 'b.json']);
    expect(formatHelp('eval', commands.eval!)).toContain('--probes, --target FILE[#SETS]');
  });
});

describe('the command files', () => {
  it('import no cycle: command files share shared.ts and args.ts, and only bin.ts and index.ts import the table', () => {
    const dir = new URL('.', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const edges = new Map(files.map((f) => [f, [...readFileSync(new URL(f, dir), 'utf8').matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`)]));
    expect(files.filter((f) => edges.get(f)!.includes('commands.ts')).sort()).toEqual(['bin.ts', 'index.ts']);
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') throw new Error(`import cycle: ${[...path, f].join(' -> ')}`);
      state.set(f, 'open');
      for (const g of edges.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(edges.get('commands.ts')).toEqual(expect.arrayContaining(['demo.ts', 'search-commands.ts', 'probe-commands.ts', 'patch-commands.ts']));
  });

  it('one integer check for every command: the flag, the bound and the value in the message', () => {
    expect(positiveInt('x', { n: 3 }, 'n')).toBe(3);
    for (const v of [0, -1, 1.5, Number.NaN, undefined]) expect(() => positiveInt('x', { n: v }, 'n')).toThrow(new CliError(`bankai x: --n must be a positive integer, got ${String(v)}.`));
    expect(intFlag('eval', { null: 0 }, 'null', 0)).toBe(0);
    expect(() => intFlag('eval', { null: -2 }, 'null', 0, '0: no null')).toThrow('bankai eval: --null must be an integer >= 0 (0: no null), got -2.');
    // no command file checks integers by hand
    const dir = new URL('.', import.meta.url);
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'args.ts')) {
      expect(readFileSync(new URL(f, dir), 'utf8'), f).not.toMatch(/must be (a positive integer|an integer >=)/);
    }
  });
});
