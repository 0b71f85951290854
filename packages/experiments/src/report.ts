// Self-contained HTML pages: the experiments report (results.json: verdict table, one section
// and plot per experiment, provenance) and a search's own page (its checkpoint log). Every plot
// is rendered to inline SVG at build time (plots.ts); the page has no script, no stylesheet or
// font from elsewhere, and no network reference of any kind.

import type { CheckpointRecord, SearchConfig } from '@bankai/search';
import { experimentByName } from './experiments.js';
import { renderSvg, type VegaLiteSpec } from './plots.js';
import type { ExperimentResult, ResultsFile } from './schema.js';

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const STYLE = `
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 64rem; color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.agrees { background: #dff3df; } .disagrees { background: #f8dcdc; } .inconclusive { background: #f3f0d8; }
figure { margin: 0.8rem 0; } figure svg { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.9rem; }
code { background: #f5f5f5; padding: 0 0.2rem; }
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
}

const fmt = (x: unknown): string => {
  if (x === null || x === undefined) return '-';
  if (typeof x !== 'number') return String(x);
  const a = Math.abs(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return a !== 0 && (a < 0.001 || a >= 1e6) ? x.toExponential(2) : x.toFixed(a >= 100 ? 1 : 3);
};

function htmlTable(rows: readonly Record<string, unknown>[], max = 40): string {
  if (rows.length === 0) return '<p class="note">(no rows)</p>';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const shown = rows.slice(0, max);
  return `<table><thead><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${shown
    .map((r) => `<tr>${cols.map((c) => `<td${typeof r[c] === 'number' ? ' class="num"' : ''}>${escapeHtml(fmt(r[c]))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>${rows.length > max ? `<p class="note">${rows.length - max} more rows in results.json</p>` : ''}`;
}

async function figure(spec: VegaLiteSpec, label: string): Promise<string> {
  const svg = await renderSvg(spec);
  return `<figure data-plot="${escapeHtml(label)}">${svg.replace(/^<\?xml[^>]*>/, '')}</figure>`;
}

function verdictRows(results: readonly ExperimentResult[]): string {
  return `<table class="verdicts"><thead><tr><th>experiment</th><th>upstream claim</th><th>measured</th><th>95% CI</th><th>null</th><th>seeds</th><th>verdict</th></tr></thead><tbody>${results
    .map((r) => `<tr><td><a href="#${r.name}">${escapeHtml(r.name)}</a></td><td>${escapeHtml(r.claim.text)}</td><td class="num">${escapeHtml(fmt(r.value))} <span class="note">${escapeHtml(r.metric.unit)}</span></td>` +
      `<td class="num">[${escapeHtml(fmt(r.ci.lo))}, ${escapeHtml(fmt(r.ci.hi))}]</td><td class="num">${escapeHtml(fmt(r.null.value))}</td><td class="num">${r.seeds.length}</td>` +
      `<td class="${r.verdict}"><b>${r.verdict}</b></td></tr>`)
    .join('')}</tbody></table>`;
}

/** The experiments page for a results file. */
export async function renderExperimentsReport(results: ResultsFile): Promise<string> {
  const p = results.provenance;
  const sections: string[] = [];
  for (const r of results.experiments) {
    const e = experimentByName(r.name);
    const plot = e ? await figure(e.plot(r), r.name) : '<p class="note">(no plot: an experiment this version does not know)</p>';
    sections.push(`<section id="${escapeHtml(r.name)}"><h2>${escapeHtml(r.title)} <span class="note">(${escapeHtml(r.name)})</span></h2>
<p><b>Upstream claim</b> (${escapeHtml(r.claim.source)}): ${escapeHtml(r.claim.text)}.</p>
${e ? `<p class="note">${escapeHtml(e.doc)}</p>` : ''}
<p><b>Measured</b>: ${escapeHtml(r.metric.name)} = <b>${escapeHtml(fmt(r.value))}</b> ${escapeHtml(r.metric.unit)}, 95% CI [${escapeHtml(fmt(r.ci.lo))}, ${escapeHtml(fmt(r.ci.hi))}]
(${escapeHtml(r.ci.method)}, ${r.ci.resamples} resamples over ${escapeHtml(r.ci.over)}); seeds ${r.seeds.join(', ')}; ${fmt(r.seconds)} s.</p>
<p><b>Null</b>: ${escapeHtml(r.null.description)}: ${escapeHtml(fmt(r.null.value))}.</p>
<p><b>Verdict</b>: <span class="${r.verdict}"><b>${r.verdict}</b></span>. Rule: ${escapeHtml(r.rule)}.</p>
${plot}
<details><summary>data (${r.table.length} rows)</summary>${htmlTable(r.table)}</details>
</section>`);
  }
  const prov = htmlTable([
    { what: 'model', value: `${p.model.path} (${p.model.bytes.toLocaleString('en-US')} bytes)` },
    { what: 'model sha256', value: p.model.sha256 },
    { what: 'command', value: p.command.join(' ') },
    { what: 'seeds', value: p.seeds.join(', ') },
    { what: 'sizes', value: p.quick ? '--quick' : 'full' },
    { what: 'node', value: p.node },
    { what: 'started / finished', value: `${p.started} / ${p.finished}` },
    ...Object.entries(p.packages).map(([name, version]) => ({ what: name, value: version })),
  ]);
  return page('bankai experiments', `<h1>bankai experiments: the upstream findings re-measured</h1>
<p class="note">Each experiment measures a value over seeds, with a 95% percentile-bootstrap interval, next to a null; the verdict follows the rule printed with it.</p>
<h2>Verdicts</h2>
${verdictRows(results.experiments)}
${sections.join('\n')}
<h2>Provenance</h2>
${prov}`);
}

// ---- a search's page ----------------------------------------------------------------------------

const WHAT = ['before', 'after', 'random patches (median)'];

/** One final before/after table of `bankai search`, as its log records it. */
export type EvaluationRecord = Extract<CheckpointRecord, { type: 'evaluation' }>;

export interface SearchLogSummary {
  config: SearchConfig;
  steps: { iteration: number; fitness: number; flips: number; accepted: number; removed: number; evaluations: number }[];
  /** The final patch (every accept and removal replayed). */
  flips: { tensor: string; row: number; group?: number }[];
  byLayerProj: { layer: number; proj: string; flips: number }[];
  evaluations: EvaluationRecord[];
}

/** Replays a checkpoint log: the fitness and patch size after every step, the final patch by layer and projection. */
export function summarizeSearchLog(records: readonly CheckpointRecord[], file = 'the log'): SearchLogSummary {
  const start = records[0];
  if (!start || start.type !== 'start') throw new RangeError(`${file}: the first record is not a search's start record (is this a PATCH.json.log.jsonl of bankai search?)`);
  const key = (c: { tensor: string; row: number; group?: number }) => `${c.tensor}:${c.row}:${c.group ?? '-'}`;
  const patch = new Map<string, { tensor: string; row: number; group?: number }>();
  const steps: SearchLogSummary['steps'] = [];
  const evaluations: EvaluationRecord[] = [];
  for (const r of records.slice(1)) {
    if (r.type === 'evaluation') evaluations.push(r);
    if (r.type !== 'step') continue;
    for (const c of r.removed ?? []) patch.delete(key(c));
    for (const c of r.accepted) patch.set(key(c), c);
    steps.push({ iteration: r.iteration, fitness: r.fitness, flips: patch.size, accepted: r.accepted.length, removed: r.removed?.length ?? 0, evaluations: r.evaluations });
  }
  const flips = [...patch.values()];
  const counts = new Map<string, { layer: number; proj: string; flips: number }>();
  for (const f of flips) {
    const m = /^blk\.(\d+)\.(\w+)$/.exec(f.tensor);
    const layer = m ? Number(m[1]) : -1;
    const proj = m ? m[2]! : f.tensor;
    const k = `${layer}/${proj}`;
    const c = counts.get(k) ?? { layer, proj, flips: 0 };
    c.flips++;
    counts.set(k, c);
  }
  return { config: start.config, steps, flips, byLayerProj: [...counts.values()].sort((a, b) => a.layer - b.layer || a.proj.localeCompare(b.proj)), evaluations };
}

export interface SearchReportExtra {
  /** The log file, for the title. */
  log: string;
  /** The patch file beside the log, when it exists: its size on disk and its real bits flipped. */
  patch?: { file: string; bytes: number; bitsFlipped: number | null };
}

/** A search's own page: fitness and patch size over steps, flips per layer and projection, the final tables with their null. */
export async function renderSearchReport(s: SearchLogSummary, extra: SearchReportExtra): Promise<string> {
  const c = s.config;
  const figs: string[] = [];
  const stepAxis = { field: 'iteration', type: 'quantitative', title: 'step (logged steps)', axis: { tickMinStep: 1, format: 'd' } } as const;
  if (s.steps.length > 0) {
    figs.push(await figure({
      title: 'Fitness and patch size over steps',
      data: { values: s.steps },
      vconcat: [
        { mark: { type: 'line', point: true }, encoding: { x: stepAxis, y: { field: 'fitness', type: 'quantitative', title: 'fitness' } }, width: 520, height: 160 },
        { mark: { type: 'line', point: true, interpolate: 'step-after', color: '#c60' }, encoding: { x: stepAxis, y: { field: 'flips', type: 'quantitative', title: 'flips in the patch', axis: { tickMinStep: 1, format: 'd' } } }, width: 520, height: 120 },
      ],
    }, 'steps'));
  }
  if (s.byLayerProj.length > 0) {
    figs.push(await figure({
      title: 'Flips per layer and projection (final patch)',
      data: { values: s.byLayerProj },
      mark: 'bar',
      encoding: { x: { field: 'layer', type: 'ordinal', axis: { labelAngle: 0 } }, y: { field: 'flips', type: 'quantitative' }, color: { field: 'proj', type: 'nominal', title: 'projection' } },
      width: 320, height: 200,
    }, 'layers'));
  }
  const evalRows = s.evaluations.flatMap((e) => [
    { group: e.group, what: 'before', probes: e.correctBefore },
    { group: e.group, what: 'after', probes: e.correctAfter },
    ...(e.null ? [{ group: e.group, what: 'random patches (median)', probes: e.correctBefore + e.null.medianNet }] : []),
  ]);
  if (evalRows.length > 0) {
    figs.push(await figure({
      title: 'Greedy accuracy before and after the patch, with the random-patch null',
      data: { values: evalRows },
      mark: 'bar',
      encoding: { x: { field: 'group', type: 'nominal', axis: { labelAngle: 0 }, title: null }, xOffset: { field: 'what', type: 'nominal', sort: WHAT }, y: { field: 'probes', type: 'quantitative', title: 'correct answers' }, color: { field: 'what', type: 'nominal', title: null, sort: WHAT, legend: { labelLimit: 220 } } },
      width: 360, height: 200,
    }, 'evaluations'));
  }
  const last = s.steps.at(-1);
  const summary = htmlTable([
    { what: 'strategy', value: `${c.strategy} (seed ${c.seed}, ${c.iterations} steps, metric ${c.metric})` },
    { what: 'space', value: `layers ${c.layers.join(',')}; ${c.projs.join(',')} ${c.granularity}s` },
    { what: 'steps logged', value: s.steps.length },
    { what: 'final fitness', value: last ? last.fitness : '-' },
    { what: 'exact evaluations', value: last ? last.evaluations : 0 },
    { what: 'flips in the patch', value: s.flips.length },
    ...(extra.patch ? [{ what: 'patch file', value: `${extra.patch.file}: ${extra.patch.bytes.toLocaleString('en-US')} bytes${extra.patch.bitsFlipped !== null ? `, ${extra.patch.bitsFlipped.toLocaleString('en-US')} bits flipped` : ''}` }] : []),
  ]);
  const evalTable = s.evaluations.length > 0
    ? htmlTable(s.evaluations.map((e) => ({
      group: e.group, probes: e.n, 'correct before': e.correctBefore, 'correct after': e.correctAfter, fixed: e.fixed, broken: e.broken, net: e.net,
      'null median net': e.null?.medianNet ?? null, 'null max net': e.null?.maxNet ?? null, 'null p': e.null?.p ?? null, 'null patches': e.null?.patches ?? null,
    })))
    : '<p class="note">The log has no final tables (a search stopped before them, or written by a bankai before 0.2): no before/after section.</p>';
  return page(`bankai search: ${extra.log}`, `<h1>Search report</h1>
<p class="note">${escapeHtml(extra.log)}</p>
${summary}
${figs.join('\n')}
<h2>Before and after (greedy generation)</h2>
${evalTable}`);
}
