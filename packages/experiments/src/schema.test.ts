import { describe, expect, it } from 'vitest';
import { EXPERIMENTS } from './experiments.js';
import { resultKey, selectExperiments } from './runner.js';
import { parseExperimentResult, parseResults, RESULTS_SCHEMA, ResultsFormatError } from './schema.js';
import { defaultSizes } from './experiments.js';

const result = (over: Record<string, unknown> = {}) => ({
  name: 'robustness', title: 't', claim: { text: 'c', source: 's', value: 0.01 }, metric: { name: 'm', unit: 'fraction' },
  value: 0.002, ci: { lo: -0.001, hi: 0.004, level: 0.95, method: 'percentile bootstrap', resamples: 1000, over: 'seeds' },
  seeds: [1, 2, 3], null: { description: 'n', value: 0 }, verdict: 'agrees', rule: 'r', table: [{ bits: 57, seed: 1 }], details: {}, seconds: 1.5, key: 'k',
  ...over,
});
const file = (experiments: unknown[]) => ({
  schema: RESULTS_SCHEMA,
  provenance: { model: { path: 'm.gguf', sha256: 'a'.repeat(64), bytes: 10 }, packages: { vega: '6.4.0' }, node: 'v20', seeds: [1, 2, 3], quick: true, command: ['bankai'], started: 's', finished: 'f' },
  experiments,
});

describe('results schema', () => {
  it('accepts a well-formed file and names the first bad field of a broken one', () => {
    expect(parseResults(file([result()])).experiments[0]!.verdict).toBe('agrees');
    expect(() => parseResults(file([result({ verdict: 'maybe' })]), 'out/results.json')).toThrow(ResultsFormatError);
    expect(() => parseResults(file([result({ verdict: 'maybe' })]), 'out/results.json')).toThrow(/out\/results\.json: experiments\.0\.verdict/);
    expect(() => parseResults({ ...file([]), schema: 'other/9' })).toThrow(/schema/);
    expect(() => parseResults(file([result({ ci: { ...result().ci, level: 0.9 } })]))).toThrow(/ci\.level/);
    expect(parseExperimentResult(result({ seeds: [] }))).toBeNull();
    expect(parseExperimentResult(result({ value: null }))).not.toBeNull();
  });

  it('the registry has unique names, and --only keeps registry order and refuses unknown names', () => {
    const names = EXPERIMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['robustness', 'scale-ratio', 'layer-map', 'heldout-fix', 'attention-vs-mlp', 'row-vs-group', 'probe-count', 'collateral', 'stack-vs-joint']) expect(names).toContain(n);
    expect(selectExperiments(['layer-map', 'robustness']).map((e) => e.name)).toEqual(['robustness', 'layer-map']);
    expect(() => selectExperiments(['nope'])).toThrow(/unknown experiment "nope"; one of robustness/);
  });

  it('sizes: 5 seeds by default, --quick at least 3, and the key ignores the worker count only', () => {
    expect(defaultSizes().seeds).toEqual([1, 2, 3, 4, 5]);
    expect(defaultSizes({ quick: true }).seeds).toEqual([1, 2, 3]);
    expect(() => defaultSizes({ quick: true, seeds: 2 })).toThrow(/at least 3/);
    const inputs = { modelSha256: 'x', skill: 'addition' };
    const k = resultKey(inputs, defaultSizes({ quick: true, workers: 1 }), 'robustness');
    expect(resultKey(inputs, defaultSizes({ quick: true, workers: 2 }), 'robustness')).toBe(k);
    expect(resultKey(inputs, defaultSizes({ quick: true, seeds: 4 }), 'robustness')).not.toBe(k);
    expect(resultKey({ ...inputs, modelSha256: 'y' }, defaultSizes({ quick: true }), 'robustness')).not.toBe(k);
    expect(resultKey({ ...inputs, skill: 'capital' }, defaultSizes({ quick: true }), 'robustness')).not.toBe(k);
    expect(resultKey(inputs, defaultSizes({ quick: true }), 'scale-ratio')).not.toBe(k);
  });
});

describe('verdict table', () => {
  it('one Markdown row per result, pipes in a cell escaped', async () => {
    const { formatVerdictTable } = await import('./runner.js');
    const { parseExperimentResult: parse } = await import('./schema.js');
    const r = parse(result({ metric: { name: 'mean |x| ratio', unit: 'ratio' } }))!;
    const lines = formatVerdictTable([r, { ...r, name: 'scale-ratio', verdict: 'disagrees', value: null }]).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('mean \\|x\\| ratio');
    expect(lines[2]!.split(/(?<!\\)\|/)).toHaveLength(9); // 7 cells between 8 unescaped pipes
    expect(lines[3]).toMatch(/^\| scale-ratio \| c \| - ratio .* \*\*disagrees\*\* \|$/);
  });
});
