// --json on every command that prints a result, --version, the flag aliases that give one name per
// concept (`--model` for patch diff / verify's `--base`), and `bankai search` refusing to replace
// an existing --out unless --overwrite (or --resume on its own log).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { readGgufFile } from '@bankai/gguf/node';
import { createManifest, formatManifest, modelShapeOf } from '@bankai/patch-format';
import { readPatchFile } from '@bankai/patch-format/node';
import { tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
let dir: string;
const at = (...names: string[]) => join(dir, ...names);

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
}
function bankai(...args: string[]) {
  const r = run(...args);
  if (r.status !== 0) throw new Error(`bankai ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}
const json = (...args: string[]) => JSON.parse(bankai(...args, '--json'));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-cli-json-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--json and --version', () => {
  it('prints the version', () => {
    const version = (JSON.parse(readFileSync(new URL('../apps/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(bankai('--version')).toBe(`${version}\n`);
    expect(bankai('--help')).toContain(`bankai ${version}:`);
  });

  it('gen-model, patch diff / convert / stack / sign print one JSON object each', async () => {
    const g = json('gen-model', '--preset', 'tiny', '--seed', '3', '--out', at('a.gguf'));
    expect(g).toMatchObject({ out: at('a.gguf'), preset: 'tiny', weights: 'q1_0', seed: 3, layers: 2, vocab: 512, tied: true });
    expect(g.bytes).toBeGreaterThan(0);
    // an existing --out is replaced only with --overwrite (as bake, patch convert and search do)
    const again = run('gen-model', '--preset', 'tiny', '--seed', '4', '--out', at('a.gguf'));
    expect([again.status, again.stderr]).toEqual([1, `error: bankai gen-model: ${at('a.gguf')} exists; pass --overwrite to replace it.\n`]);
    expect(json('gen-model', '--preset', 'tiny', '--seed', '3', '--out', at('a.gguf'), '--overwrite').bytes).toBe(g.bytes);
    const flips = [{ tensor: 'blk.0.ffn_down', row: 3 }, { tensor: 'blk.1.ffn_down', row: 5, group: 1 }]; // rows of 256: 2 groups
    writeFileSync(at('p.json'), formatManifest(createManifest({ provenance: { tool: 't' }, flips, model: modelShapeOf(await readGgufFile(at('a.gguf'))) })));
    expect(json('bake', '--model', at('a.gguf'), '--patch', at('p.json'), '--out', at('b.gguf')).bitsFlipped).toBe(256 + 128);
    // --model is --base (the model file is --model everywhere)
    const d = json('patch', 'diff', '--model', at('a.gguf'), '--patched', at('b.gguf'), '--out', at('d.json'));
    expect(d).toMatchObject({ out: at('d.json'), format: 'manifest' });
    expect(d.flips).toBe((await readPatchFile(at('d.json'))).manifest.flips.length);
    expect(d).toMatchObject({ flips: 2, rowFlips: 1, groupFlips: 1, hamming: 384 });
    const c = json('patch', 'convert', '--patch', at('d.json'), '--out', at('d.bkp'));
    expect(c).toMatchObject({ out: at('d.bkp'), format: 'binary', flips: d.flips, from: 'manifest', signed: false, warnings: [] });
    const s = json('patch', 'stack', '--patch', at('d.json'), '--patch', at('d.bkp'), '--out', at('s.json'));
    expect(s).toMatchObject({ flips: 0, inputFlips: 2 * d.flips }); // A + A = nothing
    expect(s.overlaps).toHaveLength(1);
    const k = json('patch', 'sign', '--patch', at('d.json'), '--key', at('k.hex'), '--new-key', '--out', at('signed.json'));
    expect(k).toMatchObject({ out: at('signed.json'), format: 'manifest', flips: d.flips, newKey: at('k.hex') });
    expect(k.publicKey).toMatch(/^[0-9a-f]{64}$/);
    const v = json('patch', 'verify', '--model', at('a.gguf'), '--patched', at('b.gguf'), '--patch', at('signed.json'));
    expect(v.ok).toBe(true);
  });
});

// demo --json: test/search-cli.test.ts (its one demo run)
describe('search, experiments and report --json', () => {
  // a short greedy search on the shipped tiny model (as test/search-cli.test.ts runs it)
  const searchArgs = [
    'search', '--target', tinyProbeSpec('multiplication', 'SEARCH'), '--control', tinyProbeSpec('addition', 'CONTROL'),
    '--heldout', tinyProbeSpec('multiplication', 'EVAL'), '--layers=-2--1', '--iters', '4', '--opt', 'batch=4', '--seed', '3', '--quiet',
    '--strategy', 'greedy', '--objective', 'gap', '--metric', 'seq_logprob', '--margin', '-1', '--validation', '0', '--null', '3',
  ];

  it('search --json prints the search result and the final tables the text is printed from; an existing --out needs --overwrite', async () => {
    const out = at('search.json');
    const text = run(...searchArgs, '--out', out);
    expect(text.status, text.stderr).toBe(0);
    const textFlips = (await readPatchFile(out)).manifest.flips;
    // the same search again: refused (the patch and its log stay), whether or not --json is asked for
    const before = statSync(out).mtimeMs;
    for (const extra of [[], ['--json']]) {
      const again = run(...searchArgs, '--out', out, ...extra);
      expect(again.status).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr).toMatch(new RegExp(`${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} exists; pass --overwrite to replace it .*or --resume`));
      expect(again.stderr).not.toMatch(/\n\s+at /);
    }
    expect(statSync(out).mtimeMs).toBe(before);
    // --overwrite starts over: same seed, same patch; --json is one object on stdout
    const j = JSON.parse(bankai(...searchArgs, '--out', out, '--overwrite', '--json'));
    expect(j).toMatchObject({ strategy: 'greedy', out, log: `${out}.log.jsonl`, options: { batch: '4' } });
    expect(j.resumedAtStep).toBeUndefined();
    const { manifest } = await readPatchFile(out);
    expect(manifest.flips).toEqual(textFlips);
    expect(j.result.flips.length).toBe(manifest.flips.length);
    expect(j.result.flips.length).toBeGreaterThan(0);
    expect(j.result.fitness).toBeCloseTo(manifest.provenance.fitness as number, 12);
    expect(j.result.evaluations).toBe((manifest.provenance.search as { evaluations: number }).evaluations);
    // each table matches the text run's line and the log's evaluation record
    const log = readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'evaluation');
    expect(log.map((x) => x.group)).toEqual(['target', 'heldout', 'control']);
    for (const [key, rec] of [['target', log[0]], ['heldout', log[1]], ['control', log[2]]] as const) {
      const g = j.groups[key];
      expect([g.counts.fixed, g.counts.broken, g.net.total, g.accuracy.after.correct], key).toEqual([rec.fixed, rec.broken, rec.net, rec.correctAfter]);
      expect(g.null.patches).toBe(3);
    }
    const heldout = j.groups.heldout;
    expect(heldout.rows).toHaveLength((await readProbeFile(tinyProbeSpec('multiplication', 'EVAL'))).probes.length);
    expect(text.stdout).toContain(`fixed ${heldout.counts.fixed} / broken ${heldout.counts.broken} / unchanged ${heldout.counts.unchanged}`);
    // --resume on its own log is not refused by the existing --out
    const resumed = run(...searchArgs, '--out', out, '--resume', '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).result.flips).toEqual(j.result.flips);

    // bankai report --json: the page written and the summary it draws from the same log
    const r = json('report', `${out}.log.jsonl`, '--out', at('search.html'));
    expect(r).toMatchObject({ out: at('search.html'), log: `${out}.log.jsonl`, patch: { file: out } });
    expect(r.summary.flips).toHaveLength(manifest.flips.length);
    expect(existsSync(at('search.html'))).toBe(true);
    const page = readFileSync(at('search.html'), 'utf8');
    expect(run('report', `${out}.log.jsonl`, '--out', at('search.html')).stderr).toBe(`error: bankai report: ${at('search.html')} exists; pass --overwrite to replace it.\n`);
    expect(json('report', `${out}.log.jsonl`, '--out', at('search.html'), '--overwrite').out).toBe(at('search.html'));
    expect(readFileSync(at('search.html'), 'utf8').length).toBe(page.length);
  });

  it('search --dry-run --json prints the estimate', () => {
    const j = json(...searchArgs, '--out', at('dry.json'), '--dry-run');
    expect(j).toMatchObject({ dryRun: true, strategy: 'greedy', iterations: 4, evaluationsPerStep: 4, layers: [2, 3], metric: 'seq_logprob' });
    expect(j.estimate.cacheLayers[0]).toBe(2);
    expect(j.estimate.counts.probes).toBeGreaterThan(0);
    expect(existsSync(at('dry.json'))).toBe(false);
  });

  it('experiments --json prints what results.json holds; a rerun keeps the stored result', () => {
    const args = ['experiments', '--quick', '--only', 'robustness', '--out', at('exp')];
    const first = json(...args);
    expect(first).toMatchObject({ schema: 'bankai-experiments/1', measured: ['robustness'], kept: [], resultsPath: at('exp', 'results.json') });
    expect(first.experiments.map((e: { name: string }) => e.name)).toEqual(['robustness']);
    const stored = JSON.parse(readFileSync(at('exp', 'results.json'), 'utf8'));
    expect(first.experiments).toEqual(stored.experiments);
    const again = json(...args);
    expect(again).toMatchObject({ measured: [], kept: ['robustness'] });
    expect(again.experiments).toEqual(first.experiments);
  });
});
