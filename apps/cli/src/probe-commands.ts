// `bankai audit` and `bankai eval`: probe files against a model. audit says which probes can
// measure anything; eval applies a patch and prints what it changed, probe by probe, in
// teacher-forced gap and in greedy generation (the result that counts).

import { applyPatch, modelShape, type Model } from '@bankai/model';
import { readPatchFile } from '@bankai/patch-format/node';
import {
  DEFAULT_MAX_TOKENS,
  METRICS,
  auditProbes,
  countByCategory,
  countVerdicts,
  evaluateGeneration,
  modelScorer,
  prepareProbes,
  scoreProbes,
  type AccuracyCount,
  type AuditFlagKind,
  type Metric,
  type Probe,
  type Verdict,
} from '@bankai/probes';
import { combinedSha256, readProbeFile, type LoadedProbes } from '@bankai/probes/node';
import { CliError, requireFlag, type Flags } from './args.js';
import { openModel, sha256File, type Command } from './commands.js';


const modelFlag = { type: 'string', value: 'FILE', help: 'a Qwen3 GGUF file (default: the shipped tiny model)' } as const;
const probesHelp = 'a probe JSON file, optionally with sets: FILE#SET or FILE#SET1,SET2 (repeatable)';
const maxTokensFlag = { type: 'number', value: 'N', help: 'most tokens of greedy generation per probe (it also stops at the newline)', default: DEFAULT_MAX_TOKENS } as const;
const ignoreCaseFlag = { type: 'boolean', help: 'match greedy answers case-insensitively (default: case-sensitive)' } as const;
const jsonFlag = { type: 'boolean', help: 'print one JSON object instead of tables' } as const;

export async function modelPathOf(command: string, flags: Flags): Promise<string> {
  if (typeof flags.model === 'string') return flags.model;
  try {
    return (await import('@bankai/tiny-model')).modelPath;
  } catch (e) {
    throw new CliError(`bankai ${command}: the shipped tiny model is not available (${(e as Error).message}); pass --model FILE.`);
  }
}

export async function readProbeSpecs(command: string, flags: Flags, name: string): Promise<LoadedProbes[]> {
  const specs = (flags[name] as string[] | undefined) ?? [];
  return Promise.all(specs.map((s) => readProbeFile(s)));
}

/** The probes of several files, each one named once; a clear error when one does not fit the context. */
export function probesOf(loaded: readonly LoadedProbes[], model: Model, command: string): Probe[] {
  const probes = loaded.flatMap((l) => l.probes);
  const room = model.runner.layout.maxContext;
  for (const p of probes) {
    const n = Math.max(...[p.correct, ...(p.alternates ?? []), ...(p.wrong !== undefined ? [p.wrong] : [])].map((a) => model.encode(p.prompt + a).length));
    if (n > room) {
      throw new CliError(`bankai ${command}: probe "${p.name}" needs ${n} tokens but the model's context is ${room}; shorten its prompt or drop it (\`bankai audit\` lists such probes).`);
    }
  }
  return probes;
}

export function metricOf(command: string, flags: Flags): Metric {
  const m = flags.metric as Metric;
  if (!(METRICS as readonly string[]).includes(m)) throw new CliError(`bankai ${command}: --metric must be one of ${METRICS.join(', ')}, got "${String(m)}".`);
  return m;
}

const positiveInt = (command: string, flags: Flags, name: string): number => {
  const v = flags[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new CliError(`bankai ${command}: --${name} must be a positive integer, got ${String(v)}.`);
  return v;
};

const q = (s: string | undefined, width: number): string => {
  if (s === undefined) return '-'.padEnd(width);
  const j = JSON.stringify(s);
  return (j.length > width ? j.slice(0, width - 4) + '..."' : j).padEnd(width);
};
const num = (x: number | undefined, width: number, digits = 3): string => (x === undefined ? '-' : x.toFixed(digits)).padStart(width);
const pct = (c: AccuracyCount): string => `${c.correct}/${c.n} (${(100 * c.accuracy).toFixed(1)}%)`;

// ---- audit --------------------------------------------------------------------------------------

const FLAG_LABELS: Record<AuditFlagKind, string> = {
  dead: 'dead (correct and wrong tokenize or score the same)',
  boundary: 'boundary merges (prompt tokens not a prefix of prompt+answer)',
  'distractor-rank': 'distractor never considered (rank beyond the limit)',
  'distractor-not-said': 'model gives another wrong answer than the distractor',
  'no-distractor': 'no distractor',
  'too-long': 'longer than the model context',
};

export const audit: Command = {
  summary: 'audit probe files on a model: dead probes, boundary tokenization, distractor ranks, the model\'s own answers',
  usage: 'bankai audit [--model FILE] --probes FILE[#SETS]... [--rank-limit N] [--max-tokens N] [--json]',
  flags: {
    model: modelFlag,
    probes: { type: 'list', value: 'FILE[#SETS]', help: probesHelp },
    'rank-limit': { type: 'number', value: 'N', help: 'flag distractors ranked beyond N among the vocabulary', default: 10 },
    metric: { type: 'string', value: 'NAME', help: 'the metric a search will use: seq_logprob, or token_gap (then answers sharing their first token are dead)', default: 'seq_logprob' },
    'max-tokens': maxTokensFlag,
    'ignore-case': ignoreCaseFlag,
    json: jsonFlag,
  },
  details: 'Ranks are 1-based among the whole vocabulary, taken where the distractor departs from the answer\n' +
    '(after their shared tokens, e.g. a leading space or digits), teacher-forced through the shared part.',
  async run(flags, out) {
    const loaded = await readProbeSpecs('audit', flags, 'probes');
    if (loaded.length === 0) throw new CliError('bankai audit: --probes FILE[#SETS] is required (repeat it for several files).');
    const rankLimit = positiveInt('audit', flags, 'rank-limit');
    const metric = metricOf('audit', flags);
    const maxTokens = positiveInt('audit', flags, 'max-tokens');
    const path = await modelPathOf('audit', flags);
    const model = await openModel(path);
    const probes = loaded.flatMap((l) => l.probes);
    const report = auditProbes(model, probes, { rankLimit, maxTokens, metric, ignoreCase: flags['ignore-case'] === true });
    const fitting = report.probes.filter((a) => a.verdict !== undefined) as { verdict: Verdict; probe: Probe }[];
    const accuracy = countVerdicts(fitting);
    if (flags.json) {
      out(JSON.stringify({
        model: path,
        probes: loaded.map((l) => ({ file: l.path, sets: l.sets, count: l.probes.length, sha256: l.sha256 })),
        rankLimit,
        metric,
        counts: report.counts,
        accuracy,
        byCategory: countByCategory(fitting),
        results: report.probes.map((a) => ({
          name: a.probe.name, category: a.probe.category, prompt: a.probe.prompt, correct: a.probe.correct, wrong: a.probe.wrong,
          greedy: a.greedy, verdict: a.verdict, gap: a.gap, tokenGap: a.tokenGap, departsAt: a.departsAt,
          correctRank: a.correctRank, distractorRank: a.distractorRank, topToken: a.topToken, flags: a.flags,
        })),
      }, null, 2));
      return;
    }
    out(`model   ${path}`);
    for (const l of loaded) out(`probes  ${l.path} (${l.sets.join(', ')}): ${l.probes.length} probes`);
    out('');
    const nameW = Math.min(28, Math.max(4, ...probes.map((p) => p.name.length))) + 2;
    out(`${'name'.padEnd(nameW)}${'gap'.padStart(9)}${'tok_gap'.padStart(9)}  ${'rank c/d'.padEnd(9)}  ${'greedy'.padEnd(22)}${'verdict'.padEnd(12)}flags`);
    for (const a of report.probes) {
      const ranks = a.correctRank === undefined ? '-' : `${a.correctRank}/${a.distractorRank ?? '-'}`;
      out(`${a.probe.name.slice(0, nameW - 2).padEnd(nameW)}${num(a.gap, 9)}${num(a.tokenGap, 9)}  ${ranks.padEnd(9)}  ${q(a.greedy, 22)}${(a.verdict ?? '-').padEnd(12)}${[...new Set(a.flags.map((f) => f.kind))].join(',')}`);
    }
    out('');
    out(`greedy accuracy  ${pct(accuracy)}; answered the distractor ${accuracy.distractor}, something else ${accuracy.other}`);
    for (const [kind, label] of Object.entries(FLAG_LABELS) as [AuditFlagKind, string][]) {
      out(`${String(report.counts[kind]).padStart(5)}  ${label}${kind === 'distractor-rank' ? ` (${rankLimit})` : ''}`);
    }
    const flagged = report.probes.filter((a) => a.flags.some((f) => f.kind !== 'distractor-not-said'));
    if (flagged.length > 0) {
      out('\ndetails');
      for (const a of flagged) for (const f of a.flags) if (f.kind !== 'distractor-not-said') out(`  ${a.probe.name}: ${f.kind}: ${f.message}`);
    }
  },
};

// ---- eval ---------------------------------------------------------------------------------------

type Change = 'fixed' | 'broken' | 'unchanged';

interface EvalRow {
  name: string;
  category?: string;
  prompt: string;
  correct: string;
  wrong?: string;
  gapBefore: number;
  gapAfter: number;
  outputBefore: string;
  outputAfter: string;
  verdictBefore: Verdict;
  verdictAfter: Verdict;
  change: Change;
}

export interface EvalGroup {
  name: 'probes' | 'heldout';
  files: { file: string; sets: string[]; sha256: string }[];
  rows: EvalRow[];
  counts: Record<Change, number>;
  accuracy: { before: AccuracyCount; after: AccuracyCount };
  byCategory: Record<string, { before: AccuracyCount; after: AccuracyCount }>;
  meanGap: { before: number; after: number };
}

export interface Snapshot {
  gaps: number[];
  outputs: { output: string; verdict: Verdict }[];
}

export function snapshot(model: Model, probes: readonly Probe[], metric: Metric, maxTokens: number, ignoreCase: boolean): Snapshot {
  const prepared = prepareProbes(model, probes);
  const gaps = scoreProbes(modelScorer(model), prepared, metric).map((s) => s.gap);
  const gen = evaluateGeneration(model, probes, { maxTokens, ignoreCase });
  return { gaps, outputs: gen.results };
}

function changeOf(before: Verdict, after: Verdict): Change {
  if (before !== 'correct' && after === 'correct') return 'fixed';
  if (before === 'correct' && after !== 'correct') return 'broken';
  return 'unchanged';
}

export function evalGroup(name: EvalGroup['name'], loaded: readonly LoadedProbes[], probes: readonly Probe[], before: Snapshot, after: Snapshot): EvalGroup {
  const rows = probes.map((p, i): EvalRow => {
    const b = before.outputs[i]!;
    const a = after.outputs[i]!;
    return {
      name: p.name, category: p.category, prompt: p.prompt, correct: p.correct, wrong: p.wrong,
      gapBefore: before.gaps[i]!, gapAfter: after.gaps[i]!,
      outputBefore: b.output, outputAfter: a.output, verdictBefore: b.verdict, verdictAfter: a.verdict,
      change: changeOf(b.verdict, a.verdict),
    };
  });
  const counts = { fixed: 0, broken: 0, unchanged: 0 };
  for (const r of rows) counts[r.change]++;
  const side = (which: 'before' | 'after') => rows.map((r, i) => ({ probe: probes[i]!, verdict: which === 'before' ? r.verdictBefore : r.verdictAfter }));
  const catBefore = countByCategory(side('before'));
  const catAfter = countByCategory(side('after'));
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  return {
    name,
    files: loaded.map((l) => ({ file: l.path, sets: l.sets, sha256: l.sha256 })),
    rows,
    counts,
    accuracy: { before: countVerdicts(side('before')), after: countVerdicts(side('after')) },
    byCategory: Object.fromEntries(Object.keys(catBefore).map((k) => [k, { before: catBefore[k]!, after: catAfter[k]! }])),
    meanGap: { before: mean(rows.map((r) => r.gapBefore)), after: mean(rows.map((r) => r.gapAfter)) },
  };
}

export function printGroup(g: EvalGroup, metric: Metric, out: (s: string) => void): void {
  const title = g.name === 'probes' ? 'target probes' : 'held-out probes';
  out(`\n== ${title}: ${g.files.map((f) => `${f.file}#${f.sets.join(',')}`).join(' ')}`);
  const nameW = Math.min(28, Math.max(4, ...g.rows.map((r) => r.name.length))) + 2;
  out(`${'name'.padEnd(nameW)}${`${metric} before`.padStart(20)}${'after'.padStart(9)}  ${'greedy before'.padEnd(20)}${'greedy after'.padEnd(20)}change`);
  for (const r of g.rows) {
    const mark = r.change === 'fixed' ? 'FIXED' : r.change === 'broken' ? 'BROKEN' : r.verdictAfter === 'correct' ? 'ok' : '-';
    out(`${r.name.slice(0, nameW - 2).padEnd(nameW)}${num(r.gapBefore, 20)}${num(r.gapAfter, 9)}  ${q(r.outputBefore, 20)}${q(r.outputAfter, 20)}${mark}`);
  }
  out(`fixed ${g.counts.fixed} / broken ${g.counts.broken} / unchanged ${g.counts.unchanged}`);
  out(`greedy accuracy ${pct(g.accuracy.before)} -> ${pct(g.accuracy.after)};  mean gap ${g.meanGap.before.toFixed(3)} -> ${g.meanGap.after.toFixed(3)}`);
  const cats = Object.entries(g.byCategory);
  if (cats.length > 1 || (cats.length === 1 && cats[0]![0] !== '(none)')) {
    for (const [k, v] of cats) out(`  ${k.padEnd(24)} ${pct(v.before)} -> ${pct(v.after)}`);
  }
}

export const evaluate: Command = {
  summary: 'apply a patch and show what it changes per probe: log-prob gap and greedy output before/after, fixed / broken counts',
  usage: 'bankai eval [--model FILE] --patch PATCH --probes FILE[#SETS]... [--heldout FILE[#SETS]...] [--metric seq_logprob|token_gap] [--json]',
  flags: {
    model: modelFlag,
    patch: { type: 'string', value: 'PATCH', help: 'a patch file (.json manifest or upstream, or .bkp)' },
    probes: { type: 'list', value: 'FILE[#SETS]', help: `target probes: ${probesHelp}` },
    heldout: { type: 'list', value: 'FILE[#SETS]', help: 'held-out probes, reported separately (repeatable)' },
    metric: { type: 'string', value: 'NAME', help: 'gap metric: seq_logprob (answer vs distractor, whole answers) or token_gap (first token, legacy)', default: 'seq_logprob' },
    'max-tokens': maxTokensFlag,
    'ignore-case': ignoreCaseFlag,
    force: { type: 'boolean', help: 'apply even when the patch\'s base fingerprint does not match the model' },
    json: jsonFlag,
  },
  details: 'A probe is FIXED when greedy generation becomes correct under the patch and BROKEN when it stops\n' +
    'being correct (the matcher: see @bankai/probes README). The gap is > 0 when the answer beats the distractor.',
  async run(flags, out) {
    const patchPath = requireFlag('eval', flags, 'patch');
    const metric = metricOf('eval', flags);
    const maxTokens = positiveInt('eval', flags, 'max-tokens');
    const ignoreCase = flags['ignore-case'] === true;
    const target = await readProbeSpecs('eval', flags, 'probes');
    if (target.length === 0) throw new CliError('bankai eval: --probes FILE[#SETS] is required (repeat it for several files).');
    const heldout = await readProbeSpecs('eval', flags, 'heldout');
    const path = await modelPathOf('eval', flags);
    const model = await openModel(path);
    const { manifest } = await readPatchFile(patchPath, { model: modelShape(model) });
    const sha256 = manifest.base.sha256 !== undefined ? await sha256File(path) : undefined;
    const groups = [
      { name: 'probes' as const, loaded: target, probes: probesOf(target, model, 'eval') },
      ...(heldout.length > 0 ? [{ name: 'heldout' as const, loaded: heldout, probes: probesOf(heldout, model, 'eval') }] : []),
    ];
    const before = groups.map((g) => snapshot(model, g.probes, metric, maxTokens, ignoreCase));
    const applied = applyPatch(model, manifest, { force: flags.force === true, sha256, file: patchPath });
    let after: Snapshot[];
    try {
      after = groups.map((g) => snapshot(model, g.probes, metric, maxTokens, ignoreCase));
    } finally {
      applied.revert();
    }
    const results = groups.map((g, i) => evalGroup(g.name, g.loaded, g.probes, before[i]!, after[i]!));
    if (flags.json) {
      out(JSON.stringify({
        model: path,
        patch: { file: patchPath, flips: applied.flips, bitsFlipped: applied.bitsFlipped, warnings: applied.warnings },
        metric,
        probesSha256: combinedSha256(target),
        groups: results,
      }, null, 2));
      return;
    }
    out(`model   ${path}`);
    out(`patch   ${patchPath}: ${applied.flips} flips, ${applied.bitsFlipped} weights flipped`);
    for (const w of applied.warnings) out(`warning ${w}`);
    for (const g of results) printGroup(g, metric, out);
  },
};
