// The two HTML pages end to end: `bankai experiments --quick` (a part of the registry) and
// `bankai report` of a real search's log, each opened in headless Chromium (Debian's `chromium`,
// driven by puppeteer-core): every plot rendered (an SVG with marks and a non-empty box), no
// console errors, no request leaving the page. Also: a rerun keeps the stored results, and the
// results are the same on 1 and 2 workers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer, { type Browser } from 'puppeteer-core';
import { parseResults } from '@bankai/experiments';
import { tinyProbeSpec } from '@bankai/probes';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
// CI installs chromium (.ci/run); a developer machine without it skips these with a message
const skip = !CHROMIUM && !process.env.CI;
if (skip) console.warn('report-html.test: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH): skipped');

let dir: string;
let browser: Browser | undefined;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-report-html-'));
  if (!skip) browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bankai ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Opens a page: per plot its SVG's mark count and box, and every console error, page error and outside request. */
async function inspect(file: string) {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const plots = await page.$$eval('figure[data-plot]', (figs) => figs.map((f) => {
    const svg = f.querySelector('svg');
    const box = svg?.getBoundingClientRect();
    const marks = svg ? svg.querySelectorAll('path, rect, line, text').length : 0;
    const inner = svg ? (svg.querySelector('g') as SVGGraphicsElement | null)?.getBBox() : undefined;
    return { name: f.getAttribute('data-plot'), width: box?.width ?? 0, height: box?.height ?? 0, marks, innerArea: inner ? inner.width * inner.height : 0 };
  }));
  const text = await page.$eval('body', (b) => (b as HTMLElement).innerText);
  await page.close();
  return { plots, problems, text };
}

describe.skipIf(skip)('HTML reports in headless Chromium', () => {
  it('bankai experiments --quick: results.json valid, every plot drawn, no errors; a rerun keeps the results; 1 and 2 workers agree', async () => {
    const only = 'robustness,scale-ratio,layer-map,heldout-fix,collateral';
    const out = join(dir, 'exp');
    const first = bankai('experiments', '--quick', '--only', only, '--workers', '2', '--out', out);
    expect(first).toContain('5 measured, 0 kept');
    const results = parseResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(results.experiments.map((e) => e.name)).toEqual(only.split(','));
    expect(results.provenance.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const e of results.experiments) {
      expect(e.seeds).toEqual([1, 2, 3]);
      expect(['agrees', 'disagrees', 'inconclusive']).toContain(e.verdict);
      expect(first).toContain(`| ${e.name} |`);
    }
    const page = await inspect(join(out, 'report.html'));
    expect(page.problems).toEqual([]);
    expect(page.plots.map((p) => p.name)).toEqual(only.split(','));
    for (const p of page.plots) {
      expect(p.width, p.name!).toBeGreaterThan(100);
      expect(p.height, p.name!).toBeGreaterThan(100);
      expect(p.marks, p.name!).toBeGreaterThan(10);
      expect(p.innerArea, p.name!).toBeGreaterThan(0);
    }
    expect(page.text).toContain('Verdicts');
    expect(page.text).toContain(results.provenance.model.sha256);

    // resumable: nothing is measured again, the stored results are the same bytes
    const stored = readFileSync(join(out, 'experiments', 'scale-ratio.json'), 'utf8');
    expect(bankai('experiments', '--quick', '--only', only, '--workers', '2', '--out', out)).toContain('0 measured, 5 kept');
    expect(readFileSync(join(out, 'experiments', 'scale-ratio.json'), 'utf8')).toBe(stored);
    // deterministic on any worker count
    const one = join(dir, 'one');
    bankai('experiments', '--quick', '--only', 'scale-ratio', '--workers', '1', '--out', one);
    const a = JSON.parse(stored);
    const b = JSON.parse(readFileSync(join(one, 'experiments', 'scale-ratio.json'), 'utf8'));
    expect([b.value, b.ci, b.table, b.verdict]).toEqual([a.value, a.ci, a.table, a.verdict]);
  }, 900_000);

  it('bankai report: a search\'s page from its log, with the final tables the search appended', async () => {
    const patch = join(dir, 'p.json');
    bankai('search', '--target', tinyProbeSpec('addition', 'SEARCH'), '--control', tinyProbeSpec('addition', 'CONTROL'),
      '--heldout', tinyProbeSpec('addition', 'EVAL'), '--iters', '3', '--null', '3', '--seed', '2', '--quiet', '--out', patch);
    const html = join(dir, 'search.html');
    const said = bankai('report', `${patch}.log.jsonl`, '--out', html);
    const [, steps, flips] = /(\d+) steps, (\d+) flips, 3 before\/after tables/.exec(said) ?? [];
    expect(Number(steps)).toBeGreaterThan(0);
    expect(Number(flips)).toBeGreaterThan(0);
    const page = await inspect(html);
    expect(page.problems).toEqual([]);
    expect(page.plots.map((p) => p.name)).toEqual(['steps', 'layers', 'evaluations']);
    for (const p of page.plots) {
      expect(p.width, p.name!).toBeGreaterThan(100);
      expect(p.marks, p.name!).toBeGreaterThan(10);
      expect(p.innerArea, p.name!).toBeGreaterThan(0);
    }
    expect(page.text).toContain('bits flipped');
    expect(page.text).toMatch(/heldout\s+48/);
  }, 300_000);
});
