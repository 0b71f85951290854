import { describe, expect, it } from 'vitest';
import type { CheckpointRecord, SearchConfig } from '@bankai/search';
import { renderSvg } from './plots.js';
import { escapeHtml, renderSearchReport, summarizeSearchLog } from './report.js';

const config: SearchConfig = {
  strategy: 'guided', strategyOptions: {}, seed: 3, iterations: 4, layers: [0, 1], projs: ['gate', 'down'], granularity: 'row',
  metric: 'competitor', lambda: 1, aggregate: 'mean', minGain: 0.02, ownAnswerDistractors: false,
};
const f = (layer: number, proj: string, row: number) => ({ tensor: `blk.${layer}.ffn_${proj}`, row });
const log: CheckpointRecord[] = [
  { type: 'start', version: 1, config },
  { type: 'step', iteration: 0, rng: [1, 2, 3, 4], accepted: [f(0, 'gate', 5), f(1, 'down', 2)], fitness: 0.5, evaluations: 8 },
  { type: 'step', iteration: 1, rng: [1, 2, 3, 4], accepted: [], fitness: 0.5, evaluations: 16 },
  { type: 'step', iteration: 2, rng: [1, 2, 3, 4], accepted: [f(1, 'down', 7)], removed: [f(0, 'gate', 5)], fitness: 0.7, evaluations: 24 },
  { type: 'evaluation', group: 'heldout', n: 10, correctBefore: 4, correctAfter: 6, fixed: 3, broken: 1, net: 2, null: { patches: 5, flips: 2, medianNet: 0, maxNet: 1, p: 0.17 } },
];

describe('search report', () => {
  it('replays the log: fitness and patch size per step, the final patch by layer and projection, the final tables', () => {
    const s = summarizeSearchLog(log);
    expect(s.steps.map((x) => [x.iteration, x.flips, x.fitness])).toEqual([[0, 2, 0.5], [1, 2, 0.5], [2, 2, 0.7]]);
    expect(s.flips.map((x) => `${x.tensor}:${x.row}`).sort()).toEqual(['blk.1.ffn_down:2', 'blk.1.ffn_down:7']);
    expect(s.byLayerProj).toEqual([{ layer: 1, proj: 'ffn_down', flips: 2 }]);
    expect(s.evaluations).toHaveLength(1);
    expect(() => summarizeSearchLog(log.slice(1), 'x.log.jsonl')).toThrow(/x\.log\.jsonl: the first record is not a search's start record/);
  });

  it('renders one page with an SVG per plot, no script and no network reference, the file name escaped', async () => {
    const html = await renderSearchReport(summarizeSearchLog(log), { log: '<b>p.json.log.jsonl', patch: { file: 'p.json', bytes: 321, bitsFlipped: 512 } });
    expect(html.match(/<figure data-plot=/g)).toHaveLength(3);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain(escapeHtml('<b>p.json.log.jsonl'));
    expect(html).not.toContain('<b>p.json');
    expect(html).toContain('512 bits flipped');
  });

  it('renderSvg draws the data it is given (more marks for more points) and refuses URL data', async () => {
    const spec = (n: number) => ({ data: { values: Array.from({ length: n }, (_, i) => ({ x: i, y: i * i })) }, mark: 'point' as const, encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } } });
    const count = (svg: string) => (svg.match(/<path[^>]*transform="translate/g) ?? []).length;
    const [a, b] = [await renderSvg(spec(3)), await renderSvg(spec(9))];
    expect(count(b)).toBeGreaterThan(count(a));
    expect(count(a)).toBeGreaterThanOrEqual(3);
    await expect(renderSvg({ data: { url: 'https://example.com/x.json' }, mark: 'point' })).rejects.toThrow(/inline data/);
  });
});
