// loadStrategy: names come from the caller (this package names no strategy), paths resolve from
// cwd, and every failure is a StrategyError naming the spec and what to pass instead.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStrategy } from './loader.js';
import { defineStrategy, StrategyError } from './strategy.js';

const dir = mkdtempSync(join(tmpdir(), 'bankai-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mine = defineStrategy({ name: 'mine', description: 'd', options: {}, async run() {} });

describe('loadStrategy', () => {
  it('resolves a caller\'s names to their modules, a path from cwd, anything else through the importer', async () => {
    expect(await loadStrategy('m', dir, { named: { m: async () => ({ default: mine }) } })).toBe(mine);
    const seen: string[] = [];
    const importer = async (s: string) => {
      seen.push(s);
      return { default: mine };
    };
    await loadStrategy('alias', dir, { named: { alias: 'some-strategy-package' }, importer });
    await loadStrategy('bankai-strategy-x', dir, { importer });
    await loadStrategy('./s.mjs', dir, { importer });
    expect(seen).toEqual(['some-strategy-package', 'bankai-strategy-x', `file://${dir}/s.mjs`]);
    // a real module on disk, by path (no importer: this package's import())
    writeFileSync(join(dir, 'plain.mjs'), 'export default { name: "plain", description: "d", options: {}, async run() {} };\n');
    expect((await loadStrategy('./plain.mjs', dir)).name).toBe('plain');
  });

  it('names no strategy itself: "greedy" is a package name unless the caller names it', async () => {
    const err = await loadStrategy('greedy', dir, { importer: async (s) => import(`/nonexistent/${s}.mjs`) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrategyError);
    expect((err as Error).message).toMatch(/^cannot load strategy "greedy" .*; pass an installed package name or a path to a module$/);
    const named = await loadStrategy('nope', dir, { named: { guided: 'x', greedy: 'y' } }).catch((e: unknown) => e);
    expect((named as Error).message).toMatch(/pass guided, greedy, an installed package name or a path/);
    // no "toString"-style prototype name reads as a known strategy
    const proto = await loadStrategy('toString', dir, { named: {}, importer: async () => { throw new Error('not found'); } }).catch((e: unknown) => e);
    expect(proto).toBeInstanceOf(StrategyError);
    const notOne = await loadStrategy('x', dir, { named: { x: async () => ({ default: { name: 'x' } }) } }).catch((e: unknown) => e);
    expect((notOne as Error).message).toMatch(/default export is not a strategy/);
    for (const f of readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      expect(readFileSync(new URL(f, import.meta.url), 'utf8'), f).not.toMatch(/['"`]@bankai\/strategy-/); // no strategy package imported or named
    }
  });
});
