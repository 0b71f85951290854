// `bankai search` end to end on the shipped tiny model: the patch file and its provenance, the
// before/after table, a killed search resumed from its log to the same patch, strategies loaded
// by path, and clear errors.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPatchFile } from '@bankai/patch-format/node';
import { tinyProbeSpec } from '@bankai/probes';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const CUSTOM = fileURLToPath(new URL('./fixtures/first-rows-strategy.mjs', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-search-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const common = [
  '--target', tinyProbeSpec('multiplication', 'SEARCH'),
  '--control', tinyProbeSpec('addition', 'CONTROL'),
  '--control', tinyProbeSpec('capital', 'CONTROL'),
  '--layers=-2--1', '--iters', '6', '--opt', 'batch=4', '--seed', '3', '--quiet',
  // the previous search: the paper's greedy with its metric, no margin, no validation (the
  // default is the guided strategy: see the demo's test)
  '--strategy', 'greedy', '--metric', 'seq_logprob', '--margin', '-1', '--validation', '0',
];

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function flipsOf(path: string) {
  return (await readPatchFile(path)).manifest.flips;
}

describe('bankai search', () => {
  it('writes a patch with provenance, a checkpoint log, and the before/after table', async () => {
    const out = join(dir, 'a', 'mul.json');
    const r = bankai('search', ...common, '--heldout', tinyProbeSpec('multiplication', 'EVAL'), '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { manifest } = await readPatchFile(out);
    expect(manifest.flips.length).toBeGreaterThan(0);
    expect(manifest.provenance).toMatchObject({ tool: 'bankai', strategy: 'greedy', seed: 3, metric: 'seq_logprob' });
    expect(manifest.provenance.probesSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.base.sha256).toMatch(/^[0-9a-f]{64}$/);
    const log = readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0].type).toBe('start');
    expect(log.filter((x) => x.type === 'step')).toHaveLength(6);
    expect(log.flatMap((x) => x.accepted ?? []).length).toBe(manifest.flips.length);
    expect(r.stdout).toMatch(/== target probes/);
    expect(r.stdout).toMatch(/== held-out probes/);
    expect(r.stdout).toMatch(/fixed \d+ \/ broken \d+ \/ unchanged \d+/);
    // every final table stands next to the null: 20 random patches of the patch's size, same space
    const nullLines = r.stdout.match(new RegExp(`^against the null: 20 random ${manifest.flips.length}-flip patches \\(gate,up,down rows, layers 2-3; seed 1\\)$`, 'gm'));
    expect(nullLines).toHaveLength(3); // target, held-out, control
    const heldoutNull = /== held-out probes[\s\S]*?^ {2}total +(net .*)$/m.exec(r.stdout)![1];
    // bankai eval on the written patch draws the same null from its provenance.search
    const ev = bankai('eval', '--patch', out, '--probes', tinyProbeSpec('multiplication', 'EVAL'));
    expect(ev.code).toBe(0);
    expect(ev.stdout).toContain('from the patch\'s search space (provenance.search)');
    expect(/^ {2}total +(net .*)$/m.exec(ev.stdout)![1]).toBe(heldoutNull);
    // the same search again refuses to overwrite the log silently
    const again = bankai('search', ...common, '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/holds an earlier search; pass --resume/);
  });

  it('resumes a killed search to the same patch an uninterrupted one gives', async () => {
    const full = join(dir, 'full.json');
    expect(bankai('search', ...common, '--out', full).code).toBe(0);
    const killed = join(dir, 'killed.json');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'search', ...common, '--out', killed], { stdio: 'ignore' });
      const timer = setInterval(() => {
        const log = existsSync(`${killed}.log.jsonl`) ? readFileSync(`${killed}.log.jsonl`, 'utf8') : '';
        if (log.split('\n').filter((l) => l.includes('"step"')).length >= 3) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    expect(existsSync(killed)).toBe(false); // killed before the end: no patch yet
    const r = bankai('search', ...common, '--out', killed, '--resume');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/resuming at step/);
    expect(await flipsOf(killed)).toEqual(await flipsOf(full));
  });

  it('loads a strategy by path and lists its options', async () => {
    const help = bankai('search', '--strategy', CUSTOM, '--help-strategy');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/strategy first-rows/);
    expect(help.stdout).toMatch(/--opt start=NUMBER/);
    const out = join(dir, 'custom.json');
    const r = bankai('search', ...common.filter((a) => a !== 'batch=4' && a !== '--opt'), '--strategy', CUSTOM, '--opt', 'start=5', '--out', out);
    expect(r.code).toBe(0);
    expect((await readPatchFile(out)).manifest.provenance.strategy).toBe('first-rows');
  });

  it('stack --compare searches each domain alone, stacks them by XOR and compares with a joint patch', async () => {
    const outDir = join(dir, 'stack');
    const r = bankai('stack', '--compare',
      '--target', tinyProbeSpec('addition', 'SEARCH'), '--target', tinyProbeSpec('capital', 'SEARCH'),
      '--heldout', tinyProbeSpec('addition', 'EVAL'), '--heldout', tinyProbeSpec('capital', 'EVAL'),
      '--control', tinyProbeSpec('multiplication', 'CONTROL'), '--layers=-2--1', '--iters', '4', '--quiet', '--out', outDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = r.stdout.split('\n').filter((l) => /_EVAL\s/.test(l));
    expect(table).toHaveLength(2);
    for (const row of table) expect(row).toMatch(/^\S+\s+\d+\/\d+\s+\d+\/\d+ \(\+\d+ -\d+\)\s+\d+\/\d+ \(\+\d+ -\d+\)\s+\d+\/\d+ \(\+\d+ -\d+\)$/);
    // the stacked patch is exactly the XOR of the two domain patches
    const [a, c, st] = await Promise.all([
      flipsOf(join(outDir, 'alone-addition.json_ADDITION_SEARCH.json')),
      flipsOf(join(outDir, 'alone-capital.json_CAPITAL_SEARCH.json')),
      flipsOf(join(outDir, 'stacked.json')),
    ]);
    const { compose } = await import('@bankai/patch-format');
    expect(st).toEqual(compose([a, c]));
    expect(existsSync(join(outDir, 'joint.json'))).toBe(true);
  });

  it('bankai demo (the README main job) runs its search on the tiny model and writes the patch', () => {
    const out = join(dir, 'demo', 'addition.json');
    const r = bankai('demo', '--iters', '2', '--out', out);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.stdout).toMatch(/bankai demo: fix "addition"/);
    // the default search: gradient-guided, competitor metric, validation targets held back
    const m = /^(\d+) flips accepted .* \(\d+ candidate evaluations, \d+ backward passes in [\d.]+ s\)/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const manifest = JSON.parse(readFileSync(out, 'utf8')) as { flips: unknown[]; provenance: { strategy: string; metric: string } };
    expect(manifest.flips).toHaveLength(Number(m![1]));
    expect(manifest.flips.length).toBeGreaterThan(0); // the first ranked step already finds flips
    expect(manifest.provenance).toMatchObject({ strategy: 'guided', metric: 'competitor' });
    expect(r.stdout).toMatch(/== held-out probes/);
  });

  it('explains bad input in one line', () => {
    const cases: [string[], RegExp][] = [
      [['search', ...common, '--out', join(dir, 'x.json'), '--opt', 'bogus=1'], /no option "bogus"/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--projs', 'gate,mlp'], /unknown projection "mlp"/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--layers', '9'], /layer 9 is outside 0\.\.3/],
      [['search', ...common, '--out', join(dir, 'y.json'), '--resume'], /no checkpoint log/],
      [['search', '--strategy', join(dir, 'missing.mjs'), '--help-strategy'], /cannot load strategy/],
      [['search', '--out', join(dir, 'z.json')], /--target FILE\[#SETS\] is required/],
    ];
    for (const [args, message] of cases) {
      const r = bankai(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
