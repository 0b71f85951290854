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
