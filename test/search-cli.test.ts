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
import { readProbeFile } from '@bankai/probes/node';

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
  '--strategy', 'greedy', '--metric', 'seq_logprob', '--margin', '-1', '--validation', '0', '--objective', 'gap',
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
    // the final tables follow the steps as evaluation records (bankai report reads them), each with its null
    const evals = log.filter((x) => x.type === 'evaluation');
    expect(evals.map((x) => x.group)).toEqual(['target', 'heldout', 'control']);
    expect(log.slice(-3)).toEqual(evals);
    for (const e of evals) expect(e.null).toMatchObject({ patches: 20, flips: manifest.flips.length });
    expect(evals[1].n).toBe((await readProbeFile(tinyProbeSpec('multiplication', 'EVAL'))).probes.length);
    for (const e of evals) expect([e.fixed - e.broken, e.correctAfter - e.correctBefore]).toEqual([e.net, e.net]);
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
    expect(again.stderr).toMatch(/exists; pass --overwrite to replace it .*or --resume/);
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

  const stackArgs = [
    'stack', '--compare',
    '--target', tinyProbeSpec('addition', 'SEARCH'), '--target', tinyProbeSpec('capital', 'SEARCH'),
    '--heldout', tinyProbeSpec('addition', 'EVAL'), '--heldout', tinyProbeSpec('capital', 'EVAL'),
    '--control', tinyProbeSpec('multiplication', 'CONTROL'), '--heldout-control', tinyProbeSpec('multiplication', 'EVAL'),
    '--layers=-2--1', '--iters', '3', '--null', '3', '--opt', 'verify=4', '--joint-opt', 'verify=3', '--joint-opt', 'swaps=2', '--quiet',
    // the gap objective these tests were written for (the default is accuracy, which without --sample prints a note: apps/cli/src/stack-command.test.ts)
    '--objective', 'gap',
  ];

  it('stack --compare searches each domain alone, stacks them by XOR, repairs the stack into a joint patch, and tables all three against the null', async () => {
    const outDir = join(dir, 'stack');
    const r = bankai(...stackArgs, '--out', outDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const row = (domain: string, arm: string) => new RegExp(`^\\| ${domain.replace(/[.#]/g, '\\$&')} \\| ${arm} \\| [\\d.]+ \\| \\d+/\\d+ \\| [\\d.]+ / [\\d.]+ \\| [+-][\\d.]+ \\| [+-][\\d.]+ / [+-][\\d.]+ \\| [01]/1 \\|$`, 'm');
    for (const d of ['addition.json#ADDITION_SEARCH', 'capital.json#CAPITAL_SEARCH']) {
      for (const arm of ['own patch', 'naive XOR stack', 'joint patch']) expect(r.stdout).toMatch(row(d, arm));
    }
    expect(r.stdout).toMatch(/^\| \(other skills\) \| naive XOR stack \|/m); // --heldout-control is read
    expect(r.stdout).toMatch(/held-out probes: addition\.json#ADDITION_SEARCH -> addition\.json#ADDITION_EVAL/);
    expect(r.stdout).toMatch(/where stacking cancels/);
    expect(r.stdout).toMatch(/held-out net under the other domains' own patches: \S+ [+-]\d/);
    // the stacked patch is exactly the XOR of the two domain patches
    const [a, c, st, jt] = await Promise.all([
      flipsOf(join(outDir, 'alone-addition.json_ADDITION_SEARCH.json')),
      flipsOf(join(outDir, 'alone-capital.json_CAPITAL_SEARCH.json')),
      flipsOf(join(outDir, 'stacked.json')),
      readPatchFile(join(outDir, 'joint.json')),
    ]);
    const { compose } = await import('@bankai/patch-format');
    expect(st).toEqual(compose([a, c]));
    // the joint search got its --joint-opt values (and --opt went to the per-domain searches)
    expect(jt.manifest.provenance).toMatchObject({ strategy: 'joint', options: { verify: '3', swaps: '2' } });
    expect((await readPatchFile(join(outDir, 'alone-capital.json_CAPITAL_SEARCH.json'))).manifest.provenance).toMatchObject({ strategy: 'guided', options: { verify: '4' } });
    // each search's checkpoint log, the joint one starting from the stack
    const log = readFileSync(join(outDir, 'joint.json.log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log[0].config.initialPatch.length).toBe(st.length);
    // running it again without --resume refuses to overwrite the logs
    const again = bankai(...stackArgs, '--out', outDir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/holds an earlier search; pass --resume/);
  });

  it('stack --compare --resume continues a killed study to the same patches', async () => {
    const full = join(dir, 'stack');
    const killed = join(dir, 'stack-killed');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...stackArgs, '--out', killed], { stdio: 'ignore' });
      const log = join(killed, 'alone-capital.json_CAPITAL_SEARCH.json.log.jsonl');
      const timer = setInterval(() => {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        if (text.split('\n').filter((l) => l.includes('"step"')).length >= 1) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    expect(existsSync(join(killed, 'joint.json'))).toBe(false);
    const r = bankai(...stackArgs, '--out', killed, '--resume');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['alone-addition.json_ADDITION_SEARCH.json', 'alone-capital.json_CAPITAL_SEARCH.json', 'stacked.json', 'joint.json']) {
      expect(await flipsOf(join(killed, f)), f).toEqual(await flipsOf(join(full, f)));
    }
  });

  it('stack --compare --json with three domains prints the typed study result', () => {
    const r = bankai('stack', '--compare', '--json',
      '--target', tinyProbeSpec('addition', 'SEARCH'), '--target', tinyProbeSpec('capital', 'SEARCH'), '--target', tinyProbeSpec('multiplication', 'SEARCH'),
      '--control', tinyProbeSpec('comparison', 'CONTROL'), '--layers=-1', '--iters', '2', '--null', '2', '--quiet', '--objective', 'gap',
      '--joint-aggregate', 'min', '--joint-iters', '3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const study = JSON.parse(r.stdout) as import('@bankai/search').StackStudyResult;
    expect(study.domains).toHaveLength(3);
    expect(study.runs).toHaveLength(1);
    const run = study.runs[0]!;
    expect(run.heldout).toHaveLength(3);
    expect(run.joint.fitness).toBeGreaterThanOrEqual(run.stack.fitness);
    // --joint-aggregate min: the joint objective is the worst-off domain's gain less the control term
    for (const p of [run.stack, run.joint]) expect(p.fitness).toBeLessThanOrEqual(Math.min(...p.domainGains) + 1e-12);
    expect(run.heldout[2]!.joint.null.patches).toBe(2);
    expect(study.cells.map((c) => c.arm)).toEqual(['own', 'stack', 'joint', 'own', 'stack', 'joint', 'own', 'stack', 'joint']);
  });

  it('stack --help-strategy lists both strategies\' options; bad stack flags fail in one line', () => {
    const help = bankai('stack', '--compare', '--help-strategy', '--strategy', 'greedy');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/per-domain searches[\s\S]*strategy greedy[\s\S]*joint patch[\s\S]*strategy joint[\s\S]*--opt swaps=NUMBER/);
    const two = ['--target', tinyProbeSpec('addition', 'SEARCH'), '--target', tinyProbeSpec('capital', 'SEARCH'), '--quiet'];
    const cases: [string[], RegExp][] = [
      [['stack', '--compare', ...two, '--joint-opt', 'bogus=1'], /strategy joint has no option "bogus"/],
      [['stack', '--compare', ...two, '--joint-opt', 'verify'], /--joint-opt takes KEY=VALUE/],
      [['stack', '--compare', ...two, '--resume'], /--resume: pass --out DIR/],
      [['stack', '--compare', '--target', tinyProbeSpec('addition', 'SEARCH')], /two or more --target/],
      [['stack', ...two], /pass --compare/],
      [['stack', '--compare', ...two, '--joint-aggregate', 'max'], /--joint-aggregate must be mean or min/],
      [['stack', '--compare', ...two, '--joint-iters', '0'], /--joint-iters must be a positive integer, got 0/],
      // strategy options out of their declared range, before any file is written
      [['stack', '--compare', ...two, '--joint-opt', 'validation-alpha=2'], /strategy joint: option validation-alpha must be a number in \[0, 1\], got "2"/],
      [['search', '--target', tinyProbeSpec('addition', 'SEARCH'), '--opt', 'verify=0', '--out', join(dir, 'bad-opt', 'p.json')], /strategy guided: option verify must be an integer >= 1, got "0"/],
      [['search', '--target', tinyProbeSpec('addition', 'SEARCH'), '--opt', 'validation-net=0.5', '--out', join(dir, 'bad-opt', 'p.json')], /option validation-net must be an integer, got "0.5"/],
    ];
    for (const [args, message] of cases) {
      const r = bankai(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'bad-opt'))).toBe(false); // no checkpoint log left behind
    // the help names each number option's range
    expect(bankai('search', '--help-strategy').stdout).toMatch(/--opt validation-alpha=NUMBER .*; a number in \[0, 1\]\)/);
  });

  it('bankai demo (the README main job) runs its search on the tiny model, writes the patch, and --json prints the search report', async () => {
    const out = join(dir, 'demo', 'addition.json');
    const r = bankai('demo', '--iters', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout); // one JSON object, nothing else on stdout
    expect(j.demo).toMatchObject({ model: 'tiny', skill: 'addition' });
    expect(j.demo.search.slice(0, 2)).toEqual(['bankai', 'search']);
    // the default search: gradient-guided, competitor metric, validation targets held back
    expect(j).toMatchObject({ strategy: 'guided', out });
    expect(j.result.backwards).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(out, 'utf8')) as { flips: { tensor: string; row: number }[]; provenance: { strategy: string; metric: string } };
    expect(j.result.flips.map((f: { tensor: string; row: number }) => [f.tensor, f.row])).toEqual(manifest.flips.map((f) => [f.tensor, f.row]));
    expect(manifest.flips.length).toBeGreaterThan(0); // the first ranked step already finds flips
    expect(manifest.provenance).toMatchObject({ strategy: 'guided', metric: 'competitor' });
    expect(Object.keys(j.groups)).toEqual(['target', 'heldout', 'control', 'heldoutControl']);
    expect(j.groups.heldout.null.patches).toBe(20);
    // the text run prints its command line first; an existing --out is refused (--overwrite replaces it)
    const again = bankai('demo', '--iters', '2', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^bankai demo: fix "addition" on the shipped tiny 1-bit model \(bankai search --model /);
    expect(again.stderr).toMatch(/exists; pass --overwrite to replace it/);
  }, 300_000); // about a minute on an idle 2-core machine; a loaded one takes 2-3

  it('explains bad input in one line', () => {
    const cases: [string[], RegExp][] = [
      [['search', ...common, '--out', join(dir, 'x.json'), '--opt', 'bogus=1'], /no option "bogus"/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--projs', 'gate,mlp'], /unknown projection "mlp"/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--layers', '9'], /layer 9 is outside 0\.\.3/],
      [['search', ...common, '--out', join(dir, 'y.json'), '--resume'], /no checkpoint log/],
      [['search', '--strategy', join(dir, 'missing.mjs'), '--help-strategy'], /cannot load strategy/],
      [['search', '--out', join(dir, 'z.json')], /--target FILE\[#SETS\] is required/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--objective', 'answers'], /--objective must be gap or accuracy, got "answers"/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--objective', 'accuracy', '--temperature', '0'], /--temperature must be > 0/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--pass-rate', '1'], /--pass-rate must be a fraction in \(0, 1\)/],
      [['search', ...common, '--out', join(dir, 'x.json'), '--target', tinyProbeSpec('capital', 'SEARCH'), '--sample', tinyProbeSpec('multiplication', 'TRAIN')], /--sample goes with one --target domain, got 2/],
    ];
    for (const [args, message] of cases) {
      const r = bankai(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
