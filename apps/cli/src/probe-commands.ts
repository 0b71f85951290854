// `bankai audit` and `bankai eval`: probe files against a model. audit says which probes can
// measure anything; eval prints what a patch changed, probe by probe, in teacher-forced gap and
// in greedy generation (the result that counts), next to a random-patch null. The work is done by
// @bankai/probes (auditProbes) and @bankai/search (evaluateManifest); this file parses and prints.

import { existsSync } from 'node:fs';
import { modelShape, type Model } from '@bankai/model';
import { readPatchFile } from '@bankai/patch-format/node';
import {
  DEFAULT_MAX_TOKENS,
  METRICS,
  NO_CATEGORY,
  auditProbes,
  countByCategory,
  countVerdicts,
  modelDistractor,
  type AccuracyCount,
  type AuditFlagKind,
  type Metric,
  type Probe,
  type Verdict,
} from '@bankai/probes';
import { combinedSha256, readProbeFile, writeProbeFile, type LoadedProbes } from '@bankai/probes/node';
import { DEFAULT_NULL_PATCHES, NullSpaceError, evaluateManifest, nullSpaceOf, type NullSummary, type PatchEvaluation } from '@bankai/search';
import { CliError, GGUF_FILE, PATCH_FILE, checkInputFile, intFlag, positiveInt, requireFlag, type Flags } from './args.js';
import { jsonFlag, modelOrTinyFlag, openModel, sha256File, type Command } from './shared.js';


const modelFlag = modelOrTinyFlag;
const probesHelp = 'a probe JSON file, optionally with sets: FILE#SET or FILE#SET1,SET2 (repeatable)';
const maxTokensFlag = { type: 'number', value: 'N', help: 'most tokens of greedy generation per probe (it also stops at the newline)', default: DEFAULT_MAX_TOKENS } as const;
const ignoreCaseFlag = { type: 'boolean', help: 'match greedy answers case-insensitively (default: case-sensitive)' } as const;

export async function modelPathOf(command: string, flags: Flags): Promise<string> {
  if (typeof flags.model === 'string') return checkInputFile(flags.model, 'model', GGUF_FILE);
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
  gapBefore?: number;
  gapAfter?: number;
  outputBefore: string;
  outputAfter: string;
  verdictBefore: Verdict;
  verdictAfter: Verdict;
  change: Change;
}

/** One probe group's evaluation as `bankai eval --json` prints it (a view of evaluatePatch's result). */
export interface EvalGroup {
  name: 'probes' | 'heldout';
  files: { file: string; sets: string[]; sha256: string }[];
  rows: EvalRow[];
  counts: Record<Change, number>;
  accuracy: { before: AccuracyCount; after: AccuracyCount };
  byCategory: Record<string, { before: AccuracyCount; after: AccuracyCount }>;
  meanGap?: { before: number; after: number };
  /** fixed - broken, in total and per category. */
  net: { total: number; byCategory: Record<string, number> };
  /** The random-patch null (absent with --null 0 or when the patch has none). */
  null?: PatchEvaluation['null'];
}

/** The JSON / table view of one group's PatchEvaluation. */
export function evalGroupView(name: EvalGroup['name'], loaded: readonly LoadedProbes[], e: PatchEvaluation): EvalGroup {
  const side = (which: 'before' | 'after') => e.probes.map((c) => ({ probe: c.probe, verdict: c[which].verdict }));
  const catBefore = countByCategory(side('before'));
  const catAfter = countByCategory(side('after'));
  return {
    name,
    files: loaded.map((l) => ({ file: l.path, sets: l.sets, sha256: l.sha256 })),
    rows: e.probes.map((c): EvalRow => ({
      name: c.probe.name, category: c.probe.category, prompt: c.probe.prompt, correct: c.probe.correct, wrong: c.probe.wrong,
      gapBefore: c.before.gap, gapAfter: c.after.gap,
      outputBefore: c.before.output, outputAfter: c.after.output, verdictBefore: c.before.verdict, verdictAfter: c.after.verdict,
      change: c.change === 'same' ? 'unchanged' : c.change,
    })),
    counts: { fixed: e.total.fixed, broken: e.total.broken, unchanged: e.total.n - e.total.fixed - e.total.broken },
    accuracy: { before: countVerdicts(side('before')), after: countVerdicts(side('after')) },
    byCategory: Object.fromEntries(Object.keys(catBefore).map((k) => [k, { before: catBefore[k]!, after: catAfter[k]! }])),
    ...(e.meanGap ? { meanGap: e.meanGap } : {}),
    net: { total: e.total.net, byCategory: Object.fromEntries(Object.entries(e.byCategory).map(([k, c]) => [k, c.net])) },
    ...(e.null ? { null: e.null } : {}),
  };
}

const signed = (x: number): string => (x > 0 ? `+${x}` : String(x));
const layerList = (layers: readonly number[]): string => {
  const parts: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j]! + 1) j++;
    parts.push(j > i ? `${layers[i]}-${layers[j]}` : String(layers[i]));
    i = j;
  }
  return parts.join(',');
};

/** What the null draws: "20 random 3-flip patches (gate,up,down rows, layers 0-3; seed 1)". */
export function describeNull(n: NonNullable<EvalGroup['null']>): string {
  return `${n.patches} random ${n.flips}-flip patches (${n.space.projs.join(',')} ${n.space.granularity}s, layers ${layerList(n.space.layers)}; seed ${n.seed})`;
}

/** The patch's net (fixed - broken) next to the null's, in total and per category. */
export function printNull(g: Pick<EvalGroup, 'net' | 'null'>, out: (s: string) => void): void {
  const n = g.null;
  if (!n) return;
  const line = (label: string, net: number, s: NullSummary) =>
    `  ${label.padEnd(24)} net ${signed(net).padStart(4)}   null median ${signed(s.medianNet).padStart(5)}, max ${signed(s.maxNet).padStart(4)}, median broken ${String(s.medianBroken).padStart(4)};  p = ${s.p.toFixed(3)}`;
  out(`against the null: ${describeNull(n)}`);
  out(line('total', g.net.total, n));
  const cats = Object.entries(n.byCategory);
  if (cats.length > 1) for (const [k, s] of cats) out(line(k, g.net.byCategory[k]!, s));
}

export function printGroup(g: EvalGroup, metric: Metric | undefined, out: (s: string) => void): void {
  const title = g.name === 'probes' ? 'target probes' : 'held-out probes';
  out(`\n== ${title}: ${g.files.map((f) => `${f.file}#${f.sets.join(',')}`).join(' ')}`);
  const nameW = Math.min(28, Math.max(4, ...g.rows.map((r) => r.name.length))) + 2;
  out(`${'name'.padEnd(nameW)}${`${metric ?? 'gap'} before`.padStart(20)}${'after'.padStart(9)}  ${'greedy before'.padEnd(20)}${'greedy after'.padEnd(20)}change`);
  for (const r of g.rows) {
    const mark = r.change === 'fixed' ? 'FIXED' : r.change === 'broken' ? 'BROKEN' : r.verdictAfter === 'correct' ? 'ok' : '-';
    out(`${r.name.slice(0, nameW - 2).padEnd(nameW)}${num(r.gapBefore, 20)}${num(r.gapAfter, 9)}  ${q(r.outputBefore, 20)}${q(r.outputAfter, 20)}${mark}`);
  }
  out(`fixed ${g.counts.fixed} / broken ${g.counts.broken} / unchanged ${g.counts.unchanged}`);
  const gap = g.meanGap ? `;  mean gap ${g.meanGap.before.toFixed(3)} -> ${g.meanGap.after.toFixed(3)}` : '';
  out(`greedy accuracy ${pct(g.accuracy.before)} -> ${pct(g.accuracy.after)}${gap}`);
  const cats = Object.entries(g.byCategory);
  if (cats.length > 1 || (cats.length === 1 && cats[0]![0] !== NO_CATEGORY)) {
    for (const [k, v] of cats) out(`  ${k.padEnd(24)} ${pct(v.before)} -> ${pct(v.after)}`);
  }
  printNull(g, out);
}

export const nullFlags = {
  null: { type: 'number', value: 'K', help: 'also evaluate K random patches of the same size over the same layers and projections, and print the patch\'s net (fixed - broken) against them: median, max, p; 0: no null', default: DEFAULT_NULL_PATCHES },
  'null-seed': { type: 'number', value: 'N', help: 'seed of the random patches (same seed, same null)', default: 1 },
} as const;

/** --null K and --null-seed N, checked. */
export function nullFlagsOf(command: string, flags: Flags): { patches: number; seed: number } {
  return { patches: intFlag(command, flags, 'null', 0, '0: no null'), seed: intFlag(command, flags, 'null-seed', 0) };
}

export const evaluate: Command = {
  summary: 'apply a patch and show what it changes per probe: log-prob gap and greedy output before/after, fixed / broken counts against a random-patch null',
  usage: 'bankai eval [--model FILE] --patch PATCH --probes FILE[#SETS]... [--heldout FILE[#SETS]...] [--null K] [--null-seed N] [--metric seq_logprob|token_gap] [--json]',
  flags: {
    model: modelFlag,
    patch: { type: 'string', value: 'PATCH', help: 'a patch file (.json manifest or upstream, or .bkp)' },
    probes: { type: 'list', value: 'FILE[#SETS]', help: `target probes (--target, as bankai search calls them): ${probesHelp}`, aliases: ['target'] },
    heldout: { type: 'list', value: 'FILE[#SETS]', help: 'held-out probes, reported separately (repeatable)' },
    ...nullFlags,
    metric: { type: 'string', value: 'NAME', help: 'gap metric: seq_logprob (answer vs distractor, whole answers) or token_gap (first token, legacy)', default: 'seq_logprob' },
    'max-tokens': maxTokensFlag,
    'ignore-case': ignoreCaseFlag,
    force: { type: 'boolean', help: 'apply even when the patch\'s base fingerprint does not match the model' },
    json: jsonFlag,
  },
  details: 'A probe is FIXED when greedy generation becomes correct under the patch and BROKEN when it stops\n' +
    'being correct (the matcher: see @bankai/probes README). The gap is > 0 when the answer beats the distractor.\n' +
    'The null: K random patches with the patch\'s flip count, drawn uniformly from the space the patch was searched in\n' +
    '(its provenance.search: layers, projections, granularity), else from the layers and projections it flips; each is\n' +
    'evaluated like the patch. p = (1 + #{random net >= patch net}) / (K + 1): a net the null reaches often is chance.',
  async run(flags, out) {
    const patchPath = checkInputFile(requireFlag('eval', flags, 'patch'), 'patch', PATCH_FILE);
    const metric = metricOf('eval', flags);
    const maxTokens = positiveInt('eval', flags, 'max-tokens');
    const nullWanted = nullFlagsOf('eval', flags);
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
    let space: ReturnType<typeof nullSpaceOf> | undefined;
    let noNull: string | undefined;
    if (nullWanted.patches > 0) {
      try {
        space = nullSpaceOf(manifest);
      } catch (e) {
        if (!(e instanceof NullSpaceError)) throw e;
        noNull = e.message;
      }
    }
    const nullOpts = space ? { patches: nullWanted.patches, seed: nullWanted.seed, layers: space.layers, projs: space.projs, granularity: space.granularity } : undefined;
    const evaluations = groups.map((g) => evaluateManifest(model, manifest, g.probes, { metric, maxTokens, ignoreCase, force: flags.force === true, sha256, file: patchPath, null: nullOpts }));
    const results = groups.map((g, i) => evalGroupView(g.name, g.loaded, evaluations[i]!));
    const first = evaluations[0]!;
    const nullInfo = space ? { patches: nullWanted.patches, seed: nullWanted.seed, layers: space.layers, projs: space.projs, granularity: space.granularity, source: space.source }
      : noNull !== undefined ? { skipped: noNull } : undefined;
    if (flags.json) {
      out(JSON.stringify({
        model: path,
        patch: { file: patchPath, flips: first.flips, bitsFlipped: first.bitsFlipped, warnings: first.warnings },
        metric,
        probesSha256: combinedSha256(target),
        null: nullInfo,
        groups: results,
      }, null, 2));
      return;
    }
    out(`model   ${path}`);
    out(`patch   ${patchPath}: ${first.flips} flips, ${first.bitsFlipped} weights flipped`);
    for (const w of first.warnings) out(`warning ${w}`);
    if (space) out(`null    ${nullWanted.patches} random patches of ${first.flips} flips each, from ${space.source === 'flips' ? 'the layers and projections the patch flips' : 'the patch\'s search space (provenance.search)'}`);
    else if (noNull !== undefined) out(`null    none: ${noNull}`);
    for (const g of results) printGroup(g, metric, out);
  },
};

// ---- probes fresh -------------------------------------------------------------------------------

export const probesFresh: Command = {
  summary: 'write a probe file of fresh prompts for a tiny-model skill: its corpus distribution, outside every train and held-out split',
  usage: 'bankai probes fresh --skill NAME [--n 200] [--seed N] --out FILE.json [--distractors model|rule] [--model FILE] [--overwrite] [--json]',
  flags: {
    skill: { type: 'string', value: 'NAME', help: 'the tiny model\'s skill: addition, comparison, derivative, second_derivative (the others have no unused prompts)' },
    n: { type: 'number', value: 'N', help: 'how many probes', default: 200 },
    seed: { type: 'number', value: 'N', help: 'random seed (same seed, same prompts)', default: 1 },
    out: { type: 'string', value: 'FILE.json', help: 'the probe file to write (upstream shape, one set <SKILL>_FRESH)' },
    distractors: { type: 'string', value: 'model|rule', help: 'wrong answers: the model\'s own mistakes (as the shipped probe files), or a rule per skill (no model)', default: 'model' },
    model: { ...modelFlag, help: 'the model whose mistakes are the distractors (default: the shipped tiny model)' },
    'max-tokens': { ...maxTokensFlag, default: 24 },
    overwrite: { type: 'boolean', help: 'replace an existing --out file' },
    json: jsonFlag,
  },
  details: 'No prompt is a train or held-out prompt of the shipped corpus (buildCorpus(DEFAULT_SEED)), so none is in data/\n' +
    'or in any shipped probe file. With --distractors model, wrong is the model\'s greedy answer where it is wrong and\n' +
    'its most probable wrong continuation where it is right (a rule\'s where it has neither).',
  async run(flags, out) {
    const { SKILLS, FreshPromptsError, freshProbes, ruleMistake } = await import('@bankai/tiny-model');
    const skill = String(flags.skill ?? '');
    if (!(SKILLS as readonly string[]).includes(skill)) throw new CliError(`bankai probes fresh: --skill must be one of ${SKILLS.join(', ')}, got "${skill}".`);
    const outPath = requireFlag('probes fresh', flags, 'out');
    const n = positiveInt('probes fresh', flags, 'n');
    const seed = intFlag('probes fresh', flags, 'seed', 0);
    const how = String(flags.distractors);
    if (how !== 'model' && how !== 'rule') throw new CliError(`bankai probes fresh: --distractors must be model or rule, got "${how}".`);
    if (existsSync(outPath) && flags.overwrite !== true) throw new CliError(`bankai probes fresh: ${outPath} exists; pass --overwrite to replace it.`);
    const maxTokens = positiveInt('probes fresh', flags, 'max-tokens');
    const model = how === 'model' ? await openModel(await modelPathOf('probes fresh', flags)) : undefined;
    const sources = { greedy: 0, 'likely-mistake': 0, rule: 0 };
    let probes;
    try {
      probes = freshProbes(skill as (typeof SKILLS)[number], n, seed, (e) => {
        const d = model ? modelDistractor(model, { prompt: e.prompt, correct: e.answer }, { maxTokens }) : undefined;
        sources[d?.source ?? 'rule']++;
        return d?.wrong ?? ruleMistake(e);
      });
    } catch (e) {
      if (e instanceof FreshPromptsError) throw new CliError(`bankai probes fresh: ${e.message}`);
      throw e;
    }
    const set = `${skill.toUpperCase()}_FRESH`;
    const source = `bankai probes fresh --skill ${skill} --n ${n} --seed ${seed}: prompts from the tiny-model corpus's ${skill} distribution, none a train or held-out prompt of the shipped corpus; distractors: ${how === 'model' ? 'the model\'s own mistakes' : 'a rule per skill'}`;
    await writeProbeFile(outPath, { source, sets: [{ name: set, probes }] }, { overwrite: flags.overwrite === true });
    if (flags.json) {
      out(JSON.stringify({ file: outPath, set, skill, n, seed, distractors: sources }, null, 2));
      return;
    }
    out(`wrote ${outPath}: ${set}, ${probes.length} fresh ${skill} probes (seed ${seed}); distractors: ${sources.greedy} the model's wrong answers, ${sources['likely-mistake']} its likely mistakes, ${sources.rule} by rule`);
  },
};
