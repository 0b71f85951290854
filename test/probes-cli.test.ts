// `bankai audit` and `bankai eval` end to end on the shipped tiny model: the built bin, its JSON
// checked against the model computed independently here (generation, model.score, raw logits),
// and friendly errors on bad probe files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../packages/tiny-model/model/bankai-tiny-q1_0.gguf', import.meta.url));
const PROBES = fileURLToPath(new URL('../packages/tiny-model/probes/', import.meta.url));
let dir: string;
let model: Model;

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-probes-cli-'));
  model = await Model.load(bytesSource(new Uint8Array(readFileSync(MODEL)), MODEL));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface EvalRow { name: string; prompt: string; correct: string; wrong: string; gapBefore: number; gapAfter: number; outputBefore: string; outputAfter: string; verdictBefore: string; verdictAfter: string; change: string }
interface EvalGroup { name: string; rows: EvalRow[]; counts: { fixed: number; broken: number; unchanged: number }; accuracy: { before: { correct: number }; after: { correct: number } } }

/** Raw logits after `prompt` (the next-token distribution before softmax). */
function nextLogits(prompt: string): Float32Array {
  model.runner.rewind(0);
  const ids = model.encode(prompt);
  const row = model.runner.forward(ids, ids.length - 1).slice();
  model.runner.rewind(0);
  return row;
}

describe('bankai audit', () => {
  it('--json reports the model\'s own greedy answers and seq_logprob gaps, as the library computes them', () => {
    const r = bankai('audit', '--model', MODEL, '--probes', `${PROBES}primality.json#PRIMALITY_EVAL`, '--probes', `${PROBES}addition.json#ADDITION_CONTROL`, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.probes.map((p: { sets: string[] }) => p.sets)).toEqual([['PRIMALITY_EVAL'], ['ADDITION_CONTROL']]);
    const n = JSON.parse(readFileSync(`${PROBES}primality.json`, 'utf8')).sets.PRIMALITY_EVAL.length;
    const results = j.results as { prompt: string; correct: string; wrong: string; greedy: string; verdict: string; gap: number }[];
    expect(results.length).toBeGreaterThan(n);
    for (const a of results.slice(0, 12)) {
      expect(a.greedy).toBe(model.generate(a.prompt, { maxTokens: 32 }).text);
      const gap = model.score(a.prompt, a.correct).logprob - model.score(a.prompt, a.wrong).logprob;
      expect(a.gap).toBeCloseTo(gap, 5);
      if (a.greedy.trim() === a.correct.trim()) expect(a.verdict).toBe('correct');
      else if (a.greedy.trim() === a.wrong.trim()) expect(a.verdict).toBe('distractor');
    }
    expect(j.accuracy.correct).toBe(results.filter((a) => a.verdict === 'correct').length);
  });

  it('flags a dead probe and a boundary merge built on purpose, in the table and in JSON', () => {
    const file = join(dir, 'bad-probes.json');
    writeFileSync(file, JSON.stringify({
      sets: {
        MINE: [
          { name: 'dead_one', prompt: 'Q: is 91 prime? A:', correct: ' no', wrong: ' no' },
          { name: 'merges', prompt: 'Q: what is the capital of Sainia? A: ', correct: 'Shoulnan', wrong: 'Sainia' },
          { name: 'fine', prompt: 'Q: which is larger, 47 or 52? A:', correct: ' 52', wrong: ' 47' },
        ],
      },
    }));
    const j = JSON.parse(bankai('audit', '--model', MODEL, '--probes', file, '--json').stdout);
    const flags = Object.fromEntries(j.results.map((a: { name: string; flags: { kind: string }[] }) => [a.name, a.flags.map((f) => f.kind)]));
    expect(flags.dead_one).toContain('dead');
    expect(flags.merges).toContain('boundary');
    expect(flags.fine).not.toContain('dead');
    expect(flags.fine).not.toContain('boundary');
    expect(j.counts.dead).toBe(1);
    expect(j.counts.boundary).toBe(1);
    const t = bankai('audit', '--model', MODEL, '--probes', `${file}#MINE`);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^\s+1 {2}dead/m);
    expect(t.stdout).toMatch(/merges: boundary: correct "Shoulnan" merges with the prompt/);
  });

  it('bad probe files and selections: one line naming the file, path and fix, exit 1', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ sets: { S: [{ prompt: 'p', correct: ' a' }, { prompt: 'p', correct: 42 }] } }));
    let r = bankai('audit', '--model', MODEL, '--probes', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${bad}: sets.S[1].correct: is number 42, not a string. Fix: make "correct" a string\n`);
    r = bankai('audit', '--model', MODEL, '--probes', `${PROBES}addition.json#ADDITION_TEST`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no probe set "ADDITION_TEST"\. Fix: choose from: ADDITION_SEARCH, ADDITION_EVAL, ADDITION_CONTROL/);
    r = bankai('eval', '--model', MODEL, '--patch', bad, '--probes', `${PROBES}addition.json`, '--metric', 'gap');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--metric must be one of seq_logprob, token_gap/);
    r = bankai('audit', '--model', MODEL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--probes FILE\[#SETS\] is required/);
  });
});

describe('bankai eval', () => {
  const target = `${PROBES}primality.json#PRIMALITY_SEARCH`;
  const heldout = `${PROBES}primality.json#PRIMALITY_EVAL`;

  it('an empty patch changes nothing: 0 fixed / 0 broken, equal gaps and outputs, held-out separate', () => {
    const patch = join(dir, 'empty.json');
    writeFileSync(patch, JSON.stringify({ flips: [] }));
    const r = bankai('eval', '--model', MODEL, '--patch', patch, '--probes', target, '--heldout', heldout, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.patch.flips).toBe(0);
    expect(j.groups.map((g: EvalGroup) => g.name)).toEqual(['probes', 'heldout']);
    for (const g of j.groups as EvalGroup[]) {
      expect(g.counts.fixed).toBe(0);
      expect(g.counts.broken).toBe(0);
      expect(g.counts.unchanged).toBe(g.rows.length);
      for (const row of g.rows) {
        expect(row.gapAfter).toBe(row.gapBefore);
        expect(row.outputAfter).toBe(row.outputBefore);
      }
    }
    const text = bankai('eval', '--model', MODEL, '--patch', patch, '--probes', target, '--heldout', heldout).stdout;
    expect(text.match(/^fixed 0 \/ broken 0 \/ unchanged \d+$/gm)).toHaveLength(2);
    expect(text).toMatch(/== held-out probes: /);
  });

  it('a one-row patch (the output row of " yes": its logit negated) changes gaps exactly and flips answers', () => {
    const [no, yes] = [model.encode(' no'), model.encode(' yes')];
    expect([no.length, yes.length]).toEqual([1, 1]);
    const patch = join(dir, 'yes-row.json');
    writeFileSync(patch, JSON.stringify({
      format: 'bankai-patch', version: 1,
      base: { tensors: { output: [model.config.nEmbd, model.config.vocabSize] } },
      provenance: { tool: 'test' },
      flips: [{ tensor: 'output', row: yes[0] }],
    }));
    const r = bankai('eval', '--model', MODEL, '--patch', patch, '--probes', target, '--heldout', heldout, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.patch.flips).toBe(1);
    let changed = 0;
    let yesNo = 0;
    for (const g of j.groups as EvalGroup[]) {
      for (const row of g.rows) {
        const expected = row.verdictBefore !== 'correct' && row.verdictAfter === 'correct' ? 'fixed'
          : row.verdictBefore === 'correct' && row.verdictAfter !== 'correct' ? 'broken' : 'unchanged';
        expect(row.change).toBe(expected);
        if (row.outputAfter !== row.outputBefore) changed++;
        // some distractors are the model's odd continuations ("000"); check the yes/no pairs exactly
        if (![' no', ' yes'].includes(row.wrong)) continue;
        yesNo++;
        // single-token answers: the gap is a logit difference; the flip negates logit(" yes")
        const l = nextLogits(row.prompt);
        const sign = row.correct === ' no' ? 1 : -1;
        expect(row.gapBefore).toBeCloseTo(sign * (l[no[0]!]! - l[yes[0]!]!), 4);
        expect(row.gapAfter).toBeCloseTo(sign * (l[no[0]!]! + l[yes[0]!]!), 4);
      }
      expect(g.counts.fixed + g.counts.broken + g.counts.unchanged).toBe(g.rows.length);
    }
    expect(changed).toBeGreaterThan(0);
    expect(yesNo).toBeGreaterThan(20);
    const all = (j.groups as EvalGroup[]).flatMap((g) => g.rows);
    expect(all.some((row) => row.change !== 'unchanged')).toBe(true);
    // the model is left unpatched: the text table's "before" equals a fresh run's
    const text = bankai('eval', '--model', MODEL, '--patch', patch, '--probes', target).stdout;
    const g0 = j.groups[0] as EvalGroup;
    expect(text).toContain(`fixed ${g0.counts.fixed} / broken ${g0.counts.broken} / unchanged ${g0.counts.unchanged}`);
    expect(text).toMatch(/FIXED|BROKEN/);
  });
});

describe('bankai eval --null', () => {
  const heldout = `${PROBES}addition.json#ADDITION_HELDOUT`;
  const mixed = [`${PROBES}primality.json#PRIMALITY_EVAL`, `${PROBES}addition.json#ADDITION_EVAL`];
  /** A patch of three up/gate rows in layers 2-3, recording the space it was "searched" in. */
  function rowsPatch(name: string, provenance: Record<string, unknown> = { tool: 'test' }) {
    const patch = join(dir, name);
    const { nEmbd, nFf } = model.config;
    writeFileSync(patch, JSON.stringify({
      format: 'bankai-patch', version: 1,
      base: { tensors: { 'blk.2.ffn_up': [nEmbd, nFf], 'blk.3.ffn_gate': [nEmbd, nFf] } },
      provenance,
      flips: [{ tensor: 'blk.2.ffn_up', row: 5 }, { tensor: 'blk.2.ffn_up', row: 77 }, { tensor: 'blk.3.ffn_gate', row: 12 }],
    }));
    return patch;
  }

  it('puts the net next to K random patches of the same size, per category and in total, as the library computes it', async () => {
    const patch = rowsPatch('rows.json');
    const r = bankai('eval', '--model', MODEL, '--patch', patch, ...mixed.flatMap((m) => ['--probes', m]), '--null', '6', '--null-seed', '4', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    // no provenance.search: the layers and projections the patch flips
    expect(j.null).toEqual({ patches: 6, seed: 4, layers: [2, 3], projs: ['gate', 'up'], granularity: 'row', source: 'flips' });
    const g = j.groups[0];
    expect(g.null.patches).toBe(6);
    expect(g.null.flips).toBe(3);
    expect(g.null.nets).toHaveLength(6);
    expect(Object.keys(g.null.byCategory)).toEqual(['primality', 'addition']);
    expect(g.net.total).toBe(g.counts.fixed - g.counts.broken);
    expect(g.null.p).toBe((1 + g.null.nets.filter((x: number) => x >= g.net.total).length) / 7);
    // the CLI prints the library's result
    const { evaluatePatch } = await import('@bankai/search');
    const probes = (await Promise.all(mixed.map((m) => import('@bankai/probes/node').then((n) => n.readProbeFile(m))))).flatMap((l) => l.probes);
    const lib = evaluatePatch(model, JSON.parse(readFileSync(patch, 'utf8')).flips, probes, { null: { patches: 6, seed: 4, layers: [2, 3], projs: ['gate', 'up'], granularity: 'row' } });
    expect(g.null.nets).toEqual(lib.null!.nets);
    expect(g.counts.fixed).toBe(lib.total.fixed);
    // the same seed, the same null; the table shows it per category
    const text = bankai('eval', '--model', MODEL, '--patch', patch, ...mixed.flatMap((m) => ['--probes', m]), '--null', '6', '--null-seed', '4').stdout;
    expect(text).toContain('against the null: 6 random 3-flip patches (gate,up rows, layers 2-3; seed 4)');
    expect(text).toMatch(new RegExp(`^  total +net +${g.net.total > 0 ? '\\+' : ''}${g.net.total} +null median .*p = ${g.null.p.toFixed(3)}$`, 'm'));
    expect(text).toMatch(/^ {2}primality +net .*p = \d\.\d{3}$/m);
    expect(text).toMatch(/^ {2}addition +net .*p = \d\.\d{3}$/m);
  });

  it('draws from provenance.search when the patch records it; --null 0 turns it off; no null for flips outside the blocks', () => {
    const patch = rowsPatch('searched.json', { tool: 'bankai', search: { layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], granularity: 'row' } });
    let j = JSON.parse(bankai('eval', '--model', MODEL, '--patch', patch, '--probes', heldout, '--null', '3', '--json').stdout);
    expect(j.null).toMatchObject({ layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], source: 'provenance.search' });
    expect(j.groups[0].files[0].sets).toEqual(['ADDITION_HELDOUT']);
    expect(j.groups[0].rows).toHaveLength(152);
    j = JSON.parse(bankai('eval', '--model', MODEL, '--patch', patch, '--probes', heldout, '--null', '0', '--json').stdout);
    expect(j.null).toBeUndefined();
    expect(j.groups[0].null).toBeUndefined();
    const yes = join(dir, 'yes-only.json');
    writeFileSync(yes, JSON.stringify({
      format: 'bankai-patch', version: 1, base: { tensors: { output: [model.config.nEmbd, model.config.vocabSize] } },
      provenance: { tool: 'test' }, flips: [{ tensor: 'output', row: model.encode(' yes')[0] }],
    }));
    const r = bankai('eval', '--model', MODEL, '--patch', yes, '--probes', `${PROBES}primality.json#PRIMALITY_EVAL`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^null {4}none: the patch flips output, outside the blocks' projections/m);
    const bad = bankai('eval', '--model', MODEL, '--patch', patch, '--probes', heldout, '--null', '-1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--null must be an integer >= 0/);
  });
});

describe('bankai probes fresh', () => {
  it('writes prompts outside the corpus splits, the same for the same seed, distractors the model\'s own mistakes', async () => {
    const a = join(dir, 'fresh-a.json');
    const r = bankai('probes', 'fresh', '--skill', 'comparison', '--n', '30', '--seed', '7', '--out', a);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*fresh-a\.json: COMPARISON_FRESH, 30 fresh comparison probes \(seed 7\)/);
    const file = JSON.parse(readFileSync(a, 'utf8'));
    const probes = file.sets.COMPARISON_FRESH as { prompt: string; correct: string; wrong: string }[];
    expect(probes).toHaveLength(30);
    const { buildCorpus, corpusSplit, SKILLS, freshProbes } = await import('@bankai/tiny-model');
    const corpus = buildCorpus();
    const used = new Set(SKILLS.flatMap((s) => [...corpusSplit(corpus, s).train, ...corpusSplit(corpus, s).heldout].map((e) => e.prompt)));
    expect(probes.filter((p) => used.has(p.prompt))).toEqual([]);
    expect(probes.map((p) => p.prompt)).toEqual(freshProbes('comparison', 30, 7).map((p) => p.prompt));
    for (const p of probes) {
      const said = model.generate(p.prompt, { maxTokens: 24 }).text;
      if (said !== p.correct && said.trim() !== '') expect(p.wrong).toBe(said);
      expect(p.wrong).not.toBe(p.correct);
    }
    // it reads back as a probe file, and the same seed writes the same bytes
    const b = join(dir, 'fresh-b.json');
    expect(bankai('probes', 'fresh', '--skill', 'comparison', '--n', '30', '--seed', '7', '--out', b).code).toBe(0);
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
    expect(bankai('audit', '--model', MODEL, '--probes', `${a}#COMPARISON_FRESH`).code).toBe(0);
    const again = bankai('probes', 'fresh', '--skill', 'comparison', '--n', '30', '--out', a);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; pass --overwrite/);
    const rule = bankai('probes', 'fresh', '--skill', 'addition', '--n', '5', '--distractors', 'rule', '--out', a, '--overwrite', '--json');
    expect(JSON.parse(rule.stdout).distractors).toEqual({ greedy: 0, 'likely-mistake': 0, rule: 5 });
  });

  it('says why a skill has no fresh prompts, exit 1', () => {
    const r = bankai('probes', 'fresh', '--skill', 'multiplication', '--out', join(dir, 'm.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: bankai probes fresh: multiplication has no fresh prompts: every multiplication pair/);
    expect(bankai('probes', 'fresh', '--skill', 'capital', '--out', join(dir, 'c.json')).stderr).toMatch(/capital has no fresh prompts/);
    expect(bankai('probes', 'fresh', '--skill', 'comparison', '--n', '7000', '--out', join(dir, 'c.json')).stderr).toMatch(/comparison has 6700 fresh prompts, fewer than the 7000 asked for/);
  });
});
