import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_PROBES_JSON } from './builtin-data.js';
import { builtinProbes, TINY_PROBE_SKILLS, tinyProbePath, tinyProbeSpec } from './builtin.js';
import { ProbeFormatError } from './errors.js';
import { parseProbeFile, parseProbeSpec, selectProbes, selectSets } from './file.js';
import { combinedSha256, readProbeFile, sha256Hex, writeProbeFile } from './node.js';

const FIXTURES = new URL('../../../test/fixtures/upstream-bankai/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'bankai-probes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(f: () => unknown): ProbeFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProbeFormatError);
    return e as ProbeFormatError;
  }
  throw new Error('expected a ProbeFormatError');
}

describe('probe files', () => {
  it('loads every upstream fixture with every set and probe', () => {
    for (const name of ['probes-builtin.json', 'probes-exp12-calculus.json', 'probes-exp13-variations.json']) {
      const raw = JSON.parse(fixture(name));
      const f = parseProbeFile(fixture(name), name);
      expect(f.source).toBe(raw.source);
      expect(f.sets.map((s) => s.name)).toEqual(Object.keys(raw.sets));
      for (const s of f.sets) expect(s.probes).toEqual(raw.sets[s.name]);
    }
    const calc = parseProbeFile(fixture('probes-exp12-calculus.json'));
    const trig = selectProbes(calc, ['TRIG_VAL']);
    expect(trig[0]!.alternates).toContain(' 0.7071');
  });

  it('loads every shipped tiny-model probe file', () => {
    for (const skill of TINY_PROBE_SKILLS) {
      const f = parseProbeFile(readFileSync(tinyProbePath(skill), 'utf8'), tinyProbePath(skill));
      expect(f.sets.map((s) => s.name)).toEqual(['SEARCH', 'EVAL', 'CONTROL', 'HELDOUT', 'TRAIN'].map((s) => `${skill.toUpperCase()}_${s}`));
    }
  });

  it('accepts a plain array and {probes: [...]}; unnamed probes are named by set and index', () => {
    const probe = { prompt: 'Q: 1+1? A:', correct: ' 2', wrong: ' 3' };
    const a = parseProbeFile(JSON.stringify([probe, { ...probe, prompt: 'Q: 2+2? A:' }]));
    expect(a.sets).toEqual([{ name: 'probes', probes: [{ name: 'probes_0', ...probe }, { name: 'probes_1', ...probe, prompt: 'Q: 2+2? A:' }] }]);
    const b = parseProbeFile({ source: 'x', probes: [{ ...probe, name: 'one', category: 'math' }] });
    expect(b).toEqual({ file: '<probes>', source: 'x', sets: [{ name: 'probes', probes: [{ name: 'one', category: 'math', ...probe }] }] });
  });

  it('rejects bad files naming the file, the JSON path and the fix', () => {
    const ok = { prompt: 'p', correct: ' c', wrong: ' w' };
    const cases: [unknown, string, RegExp][] = [
      ['{"sets": ', 'f.json', /^f\.json: not valid JSON/],
      [42, 'f.json', /^f\.json: the top level is number 42/],
      [{ sets: { MATH: [ok, ok, ok, { ...ok, correct: 7 }] } }, 'f.json', /^f\.json: sets\.MATH\[3\]\.correct: is number 7, not a string\. Fix: /],
      [{ sets: { MATH: [{ prompt: 'p' }] } }, 'f.json', /sets\.MATH\[0\]\.correct: is missing/],
      [{ sets: { MATH: [{ ...ok, wrongs: ' x' }] } }, 'f.json', /sets\.MATH\[0\]\.wrongs: unknown key "wrongs"\. Fix: a probe's keys are name, category/],
      [{ sets: { MATH: [{ ...ok, alternates: ' x' }] } }, 'f.json', /sets\.MATH\[0\]\.alternates: is string/],
      [{ sets: { MATH: [{ ...ok, alternates: [' x', 3] }] } }, 'f.json', /sets\.MATH\[0\]\.alternates\[1\]: is number 3/],
      [{ sets: { MATH: [{ ...ok, prompt: '' }] } }, 'f.json', /sets\.MATH\[0\]\.prompt: is an empty string/],
      [{ sets: { MATH: [] } }, 'f.json', /sets\.MATH: is an empty probe list/],
      [{ sets: { MATH: [{ ...ok, name: 'a' }, { ...ok, name: 'a' }] } }, 'f.json', /sets\.MATH\[1\]\.name: duplicate probe name "a" \(also sets\.MATH\[0\]\)/],
      [{ sets: [ok] }, 'f.json', /sets: is an array, not an object/],
      [{ probes: [ok], sets: {} }, 'f.json', /has both "sets" and "probes"/],
      [{ prompts: [ok] }, 'f.json', /has neither "sets" nor "probes"/],
      [{ source: 3, probes: [ok] }, 'f.json', /source: is number 3, not a string/],
    ];
    for (const [input, file, re] of cases) expect(errorOf(() => parseProbeFile(input, file)).message).toMatch(re);
    const e = errorOf(() => parseProbeFile({ sets: { MATH: [{ ...ok, correct: 7 }] } }, 'f.json'));
    expect([e.file, e.path]).toEqual(['f.json', 'sets.MATH[0].correct']);
  });

  it('selects sets by name and lists the available ones when a name is missing', () => {
    const calc = parseProbeFile(fixture('probes-exp12-calculus.json'), 'calc.json');
    expect(selectSets(calc, ['TRIG_VAL', 'PRIME_VAL']).map((s) => s.name)).toEqual(['TRIG_VAL', 'PRIME_VAL']);
    expect(selectProbes(calc, ['TRIG_VAL', 'PRIME_VAL'])).toHaveLength(10);
    // ALL_TRAIN repeats the per-category train sets: every probe once
    const all = selectProbes(calc);
    const raw = JSON.parse(fixture('probes-exp12-calculus.json'));
    expect(all).toHaveLength(raw.sets.ALL_TRAIN.length + raw.sets.ALL_VAL.length);
    expect(errorOf(() => selectSets(calc, ['TRIG'])).message).toMatch(/^calc\.json: has no probe set "TRIG"\. Fix: choose from: POLY_DERIV_TRAIN, .*TRIG_VAL/);
    expect(parseProbeSpec('a/b.json#X,Y')).toEqual({ path: 'a/b.json', sets: ['X', 'Y'] });
    expect(parseProbeSpec('a/b.json')).toEqual({ path: 'a/b.json' });
    expect(() => parseProbeSpec('a.json#')).toThrow(ProbeFormatError);
    expect(() => parseProbeSpec('a.json#X,,Y')).toThrow(ProbeFormatError);
  });

  it('readProbeFile reads FILE#SETS with the sha256 of the bytes; writeProbeFile round-trips atomically', async () => {
    const spec = tinyProbeSpec('addition', 'EVAL', 'CONTROL');
    const r = await readProbeFile(spec);
    expect(r.sets).toEqual(['ADDITION_EVAL', 'ADDITION_CONTROL']);
    expect(r.probes).toHaveLength(r.file.sets[1]!.probes.length + r.file.sets[2]!.probes.length);
    expect(r.sha256).toBe(sha256Hex(readFileSync(tinyProbePath('addition'))));
    await expect(readProbeFile(join(dir, 'none.json'))).rejects.toThrow(/none\.json: no such file/);
    await expect(readProbeFile(`${tinyProbePath('addition')}#NOPE`)).rejects.toThrow(/has no probe set "NOPE".*ADDITION_SEARCH, ADDITION_EVAL, ADDITION_CONTROL/);
    const out = join(dir, 'copy.json');
    await writeProbeFile(out, r.file);
    expect(parseProbeFile(readFileSync(out, 'utf8')).sets).toEqual(r.file.sets);
    await expect(writeProbeFile(out, r.file)).rejects.toThrow(/file exists/);
    expect(readdirSync(dir)).toEqual(['copy.json']);
    // a file name with '#' that exists is read whole
    const hashName = join(dir, 'a#b.json');
    writeFileSync(hashName, JSON.stringify([{ prompt: 'p', correct: ' c' }]));
    expect((await readProbeFile(hashName)).probes).toHaveLength(1);
    expect(combinedSha256([r])).toBe(r.sha256);
    expect(combinedSha256([r, r])).toMatch(/^[0-9a-f]{64}$/);
    expect(combinedSha256([r, r])).not.toBe(r.sha256);
  });

  it('ships the upstream built-in sets unchanged', () => {
    expect(JSON.parse(JSON.stringify(BUILTIN_PROBES_JSON))).toEqual(JSON.parse(fixture('probes-builtin.json')));
    const b = builtinProbes();
    expect(b.sets.map((s) => s.name)).toEqual(['MATH_PROBES', 'CODE_PROBES', 'KNOWLEDGE_PROBES']);
    b.sets[0]!.probes[0]!.correct = 'changed';
    expect(builtinProbes().sets[0]!.probes[0]!.correct).toBe(' 2');
  });
});
