// `bankai stack --compare` in process on the shipped tiny model (1 step, the last layer, a 1-patch
// null, one worker): it runs the study as bench/stack-study.ts --config default does (the accuracy
// objective, each domain's --sample its StackDomain.sample), --objective gap still works, and
// wrong flag counts fail with a CliError naming the flag.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { DEFAULT_MIN_GAIN, samplePassRate, type StackStudyResult } from '@bankai/search';
import { CliError, parseFlags } from './args.js';
import { modelPathOf } from './probe-commands.js';
import { stackCompare } from './search-commands.js';
import { openModel } from './shared.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-stack-cmd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const domains = ['addition', 'capital'] as const;
const targets = domains.flatMap((d) => ['--target', tinyProbeSpec(d, 'SEARCH')]);
const samples = domains.flatMap((d) => ['--sample', tinyProbeSpec(d, 'TRAIN')]);
const small = ['--control', tinyProbeSpec('multiplication', 'CONTROL'), '--layers=-1', '--iters', '1', '--null', '1', '--workers', '1', '--quiet'];

/** Runs the command in process: its stdout lines, and what it wrote to stderr. */
async function stack(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const lines: string[] = [];
  const err: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err.push(String(s));
    return true;
  });
  try {
    await stackCompare.run(parseFlags('stack', stackCompare, ['--compare', ...args]), (s) => lines.push(s));
  } finally {
    spy.mockRestore();
  }
  return { stdout: lines.join('\n'), stderr: err.join('') };
}

const startConfig = (path: string) => JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!).config;
const NOTE = /note: no --sample or --pass-rate, so every target weighs 1/;

describe('bankai stack --compare', () => {
  it('takes one --sample per domain: each is that domain\'s sample, its greedy accuracy its pass rate, in every search; the objective is accuracy', async () => {
    const out = join(dir, 'samples');
    const r = await stack(...targets, ...samples, ...small, '--json', '--out', out);
    const study = JSON.parse(r.stdout) as StackStudyResult;
    const model = await openModel(await modelPathOf('stack', {}));
    const expected = await Promise.all(domains.map(async (d) => samplePassRate(model, (await readProbeFile(tinyProbeSpec(d, 'TRAIN'))).probes)));
    expect(study.passRates).toEqual(expected.map((e) => ({ passRate: e.passRate, sample: e.n, sampleRight: e.right })));
    // the two samples differ, so a swapped pairing would fail
    expect(expected[0]!.passRate).not.toBe(expected[1]!.passRate);
    for (const [i, d] of domains.entries()) {
      expect(r.stderr).toContain(`${d}.json#${d.toUpperCase()}_TRAIN): ${expected[i]!.right} of ${expected[i]!.n} right in greedy generation, pass rate ${expected[i]!.passRate.toFixed(3)}`);
      // the domain's own search weighs its targets with its sample's pass rate, on the accuracy objective
      const own = startConfig(join(out, `alone-${d}.json_${d.toUpperCase()}_SEARCH.json.log.jsonl`));
      expect(own).toMatchObject({ objective: 'accuracy', temperature: 1, minGain: DEFAULT_MIN_GAIN.accuracy, passRate: expected[i]!.passRate });
    }
    const joint = startConfig(join(out, 'joint.json.log.jsonl'));
    expect(Object.values(joint.domainPassRates)).toEqual(expected.map((e) => e.passRate));
    expect(r.stderr).not.toMatch(NOTE);
  });

  it('defaults to the accuracy objective (the header says so) and, without --sample or --pass-rate, prints search\'s note', async () => {
    const r = await stack(...targets, ...small);
    expect(r.stdout).toMatch(new RegExp(`^search: objective accuracy \\(temperature 1\\), min-gain ${DEFAULT_MIN_GAIN.accuracy}, lambda 1, 1 steps, seed 1; joint fitness: the mean of the domains' gains; pass rates from nothing`, 'm'));
    expect(r.stderr).toMatch(NOTE);
    expect(r.stdout).toMatch(/^\| addition\.json#ADDITION_SEARCH \| joint patch \|/m);
  });

  it('--objective gap still works: the gap objective and its min-gain, no note; --pass-rate weighs every domain', async () => {
    const out = join(dir, 'gap');
    const r = await stack(...targets, ...small, '--objective', 'gap', '--out', out);
    expect(r.stdout).toMatch(new RegExp(`^search: objective gap, min-gain ${DEFAULT_MIN_GAIN.gap}, lambda 1,`, 'm'));
    expect(r.stderr).not.toMatch(NOTE);
    const own = startConfig(join(out, 'alone-addition.json_ADDITION_SEARCH.json.log.jsonl'));
    expect(own.objective ?? 'gap').toBe('gap');
    expect(own.minGain).toBe(DEFAULT_MIN_GAIN.gap);
    expect(own.targetMargin).toBe(2);

    const rated = JSON.parse((await stack(...targets, ...samples, ...small, '--pass-rate', '0.6', '--json')).stdout) as StackStudyResult;
    expect(rated.passRates.map((p) => p.passRate)).toEqual([0.6, 0.6]);
  });

  it('refuses a --sample or --heldout count that does not match the --target count, naming the flag and the fix', async () => {
    const one = ['--sample', tinyProbeSpec('addition', 'TRAIN')];
    await expect(stack(...targets, ...one)).rejects.toThrow(new CliError('bankai stack --compare: give one --sample per --target (in the same order), or none; got 1 --sample for 2 --target.'));
    await expect(stack(...targets, ...samples, ...one)).rejects.toThrow(/got 3 --sample for 2 --target/);
    await expect(stack(...targets, '--heldout', tinyProbeSpec('addition', 'EVAL'))).rejects.toThrow(/give one --heldout per --target \(in the same order\), or none; got 1 --heldout for 2 --target/);
  });

  it('the search flags it lists reach the study\'s searches (own and joint) and its null', async () => {
    const out = join(dir, 'flags');
    const r = await stack(...targets, ...small, '--json', '--out', out, '--pass-rate', '0.7',
      '--temperature', '2', '--validation', '0.5', '--max-broken', '1', '--lambda', '3', '--min-gain', '0.1', '--metric', 'seq_logprob',
      '--no-own-answers', '--seed', '4', '--null-seed', '9', '--layer-cache-mb', '0', '--projs', 'up,down', '--granularity', 'group');
    const study = JSON.parse(r.stdout) as StackStudyResult;
    expect(study.seeds).toEqual([4]);
    expect(study.nullSeed).toBe(9);
    const want = {
      objective: 'accuracy', temperature: 2, validation: 0.5, maxBrokenControls: 1, lambda: 3, minGain: 0.1, metric: 'seq_logprob',
      ownAnswerDistractors: false, seed: 4, projs: ['up', 'down'], granularity: 'group', iterations: 1,
    };
    expect(startConfig(join(out, 'alone-capital.json_CAPITAL_SEARCH.json.log.jsonl'))).toMatchObject({ ...want, passRate: 0.7 });
    // the joint search trades each domain against the controls as its own search does (lambda and min-gain over 2 domains)
    expect(startConfig(join(out, 'joint.json.log.jsonl'))).toMatchObject({ ...want, lambda: 1.5, minGain: 0.05, domainPassRates: { 'addition.json#ADDITION_SEARCH': 0.7, 'capital.json#CAPITAL_SEARCH': 0.7 } });
  });

  it('its help says --sample is per domain', () => {
    expect(stackCompare.flags.sample!.help).toMatch(/^per domain: one natural sample per --target, in the same order/);
    expect(stackCompare.flags.objective!.default).toBe('accuracy');
  });
});
