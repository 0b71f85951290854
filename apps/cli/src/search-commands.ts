// `bankai search` and `bankai stack --compare`: patch search on a model with target and control
// probes, strategies as plugins, a checkpoint log next to the output, and the before/after table
// in free generation at the end. The stacking study itself is runStackStudy in @bankai/search:
// this file parses, calls and prints.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { readGguf } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { modelShape, readModelConfig, type Model } from '@bankai/model';
import { createManifest, type PatchManifest } from '@bankai/patch-format';
import { writePatchFile } from '@bankai/patch-format/node';
import { combinedSha256, type LoadedProbes } from '@bankai/probes/node';
import {
  DEFAULT_MIN_GAIN, estimateSearchFromHeader, evaluatePatch, formatSearchEstimate, formatStackStudy, OBJECTIVES, optionRange, parseLayers, PROJECTIONS, resolveOptions, runSearch, runStackStudy, samplePassRate, StrategyError,
  type Aggregate, type CheckpointRecord, type Objective, type Granularity, type PhaseEvent, type ProgressEvent, type Projection, type SearchConfig, type SearchResult, type StackSearchId,
  type StackStudyResult, type Strategy,
} from '@bankai/search';
import { checkpointPath, fileCheckpoint, readCheckpoint } from '@bankai/search/node';
import { CliError, intFlag, requireFlag, type Flags } from './args.js';
import { jsonFlag, modelOrTinyFlag, openModel, sha256File, type Command } from './shared.js';
import { loadCliStrategy } from './strategies.js';
import { evalGroupView, metricOf, modelPathOf, nullFlags, nullFlagsOf, printGroup, printNull, probesOf, readProbeSpecs, type EvalGroup } from './probe-commands.js';


const TOOL_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const searchFlags = {
  model: modelOrTinyFlag,
  target: { type: 'list', value: 'FILE[#SETS]', help: 'target probes to improve (repeatable; each file/selection is one domain)' },
  control: { type: 'list', value: 'FILE[#SETS]', help: 'control probes that must not degrade (repeatable; cover every skill you care about)' },
  heldout: { type: 'list', value: 'FILE[#SETS]', help: 'held-out target probes for the final before/after table (never seen by the search)' },
  'heldout-control': { type: 'list', value: 'FILE[#SETS]', help: 'held-out probes of the other skills: their accuracy before/after, per category (never seen by the search)' },
  strategy: { type: 'string', value: 'NAME|PATH', help: 'guided (gradient-guided, the default), greedy (scale-ranked, the paper\'s method), random, joint (repairs an initial patch; see bankai stack), evolution (population, XOR crossover), an installed strategy package, or a path to a module', default: 'guided' },
  opt: { type: 'list', value: 'KEY=VALUE', help: 'a strategy option (repeatable); `bankai search --strategy NAME --help-strategy` lists them' },
  'help-strategy': { type: 'boolean', help: 'print the chosen strategy\'s options and exit' },
  layers: { type: 'string', value: 'LIST', help: 'layers to search: 0,2,5-7, negative from the end (-2--1), or all', default: 'all' },
  projs: { type: 'string', value: 'LIST', help: `projections to search: ${PROJECTIONS.join(',')}`, default: 'gate,up,down' },
  granularity: { type: 'string', value: 'row|group', help: 'flip whole rows or single 128-weight groups', default: 'row' },
  iters: { type: 'number', value: 'N', help: 'search steps (each evaluates a batch of candidates in parallel)', default: 40 },
  lambda: { type: 'number', value: 'X', help: 'weight of the mean control degradation (hinge) in the fitness', default: 1 },
  aggregate: { type: 'string', value: 'mean|min', help: 'target improvement: mean over probes, or the worst probe', default: 'mean' },
  'min-gain': { type: 'number', value: 'X', help: `a flip is accepted only if its fitness gain exceeds this (a cost per flip; default ${DEFAULT_MIN_GAIN.gap} nats of mean gap with --objective gap, ${DEFAULT_MIN_GAIN.accuracy} expected answers with accuracy)` },
  margin: { type: 'number', value: 'X', help: 'target gaps count only up to X nats, so flips go to probes that are wrong or barely right; -1: no cap', default: 2 },
  'control-margin': { type: 'number', value: 'X', help: 'control gaps cost only when they fall below X nats (a safely right answer may move within its lead); -1: every decrease costs', default: -1 },
  objective: { type: 'string', value: 'accuracy|gap', help: 'what the fitness counts: accuracy (expected right answers: sigmoid(gap / T) summed over probes; --margin and --control-margin do not apply, --min-gain is in answers; give --sample or --pass-rate with it) or gap (margin-capped gap gains, means over probes: the previous default)', default: 'accuracy' },
  temperature: { type: 'number', value: 'T', help: 'the accuracy objective\'s temperature, in logits of the gap', default: 1 },
  sample: { type: 'list', value: 'FILE[#SETS]', help: 'a natural sample of the target skill (prompts in the model\'s own mix of right and wrong answers, e.g. its training examples): added to the one --target domain, and unless --pass-rate is given the model\'s greedy accuracy on it (rule of succession) sets the pass rate' },
  'pass-rate': { type: 'number', value: 'P', help: 'the fraction of the target skill\'s prompts the model gets right (e.g. its accuracy on a natural sample): right and wrong targets are weighed in that proportion, so a target set picked for its failures does not over-count fixes against the right answers a flip breaks; -1: every target weighs 1', default: -1 },
  validation: { type: 'number', value: 'F', help: 'hold back this fraction of the targets (seeded) from the fitness; the guided strategy accepts only flips that also help them; 0: none', default: 0.33 },
  'max-broken': { type: 'number', value: 'N', help: 'reject a flip that makes more than N control probes wrong (teacher-forced), whatever its gain; -1: no limit', default: 0 },
  metric: { type: 'string', value: 'NAME', help: 'competitor (every answer token against the model\'s strongest other token: > 0 exactly when teacher forcing says the answer), seq_logprob (whole answers vs the distractor) or token_gap (first token, legacy)', default: 'competitor' },
  'own-answers': { type: 'boolean', help: 'also score targets against the model\'s own wrong greedy answer', default: true },
  'layer-cache-mb': { type: 'number', value: 'MIB', help: 'memory for residual caches at the searched layers above the first (a candidate in layer L reuses everything below L), then for their MLP stages (a candidate in layer L\'s gate / up / down skips its attention); results are the same for any size; 0: the first layer\'s residual only', default: 1024 },
  workers: { type: 'number', value: 'N', help: 'evaluator threads (results are the same for any count)', default: Math.max(1, Math.min(2, cpus().length)) },
  seed: { type: 'number', value: 'N', help: 'random seed (same seed, same patch)', default: 1 },
  out: { type: 'string', value: 'PATCH.json', help: 'the patch to write (.json manifest or .bkp binary); the checkpoint log goes to PATCH.json.log.jsonl' },
  resume: { type: 'boolean', help: 'continue a killed search from its checkpoint log (same options)' },
  'max-tokens': { type: 'number', value: 'N', help: 'most tokens of greedy generation per probe in the final table', default: 32 },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

function parseOpts(flags: Flags, command = 'search', flag = 'opt'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (flags[flag] as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CliError(`bankai ${command}: --${flag} takes KEY=VALUE, got "${kv}".`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** An aggregate flag (--aggregate, --joint-aggregate): mean or min. */
function aggregateFlag(command: string, flags: Flags, name: string): Aggregate {
  const a = flags[name] as Aggregate;
  if (a !== 'mean' && a !== 'min') throw new CliError(`bankai ${command}: --${name} must be mean or min.`);
  return a;
}

/** A strategy's options resolved and checked (unknown keys, types, choices, ranges) before any file is written or search runs. */
function checkedOptions(command: string, strategy: Strategy, options: Record<string, string>): Record<string, unknown> {
  try {
    return resolveOptions(strategy, options);
  } catch (e) {
    if (e instanceof StrategyError) throw new CliError(`bankai ${command}: ${e.message}`);
    throw e;
  }
}

function strategyHelp(s: Strategy): string {
  const lines = [`strategy ${s.name}: ${s.description}`, ''];
  for (const [k, o] of Object.entries(s.options)) {
    const range = optionRange(o);
    lines.push(`  --opt ${`${k}=${o.type.toUpperCase()}`.padEnd(26)} ${o.help} (default: ${o.default}${o.choices ? `; ${o.choices.join(' | ')}` : ''}${range ? `; ${range}` : ''})`);
  }
  return lines.join('\n');
}

/** The first Ctrl-C stops a search after its current step (the second kills); release() unhooks it. */
function stopAfterStepOnSigint(): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nstopping after this step (Ctrl-C again to kill; --resume continues)\n');
    abort.abort();
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return { signal: abort.signal, release: () => process.off('SIGINT', onSigint) };
}

/** Phases before the first step on stderr (own answers, residual cache, baselines): counts and an ETA, at most every 2 s. */
function phasePrinter(quiet: boolean): (e: PhaseEvent) => void {
  let last = -Infinity;
  let lastPhase = '';
  return (e) => {
    if (quiet) return;
    const now = performance.now();
    const end = e.done === e.total;
    if (e.phase === lastPhase && !end && now - last < 2000) return;
    const started = e.phase !== lastPhase;
    last = now;
    lastPhase = e.phase;
    if (started && e.done === 0) return void process.stderr.write(`${e.phase}...\n`);
    const rate = e.done / Math.max(e.seconds, 1e-9);
    const eta = end ? '' : `, ETA ${Math.round((e.total - e.done) / Math.max(rate, 1e-9))} s`;
    process.stderr.write(`${e.phase}: ${e.done}/${e.total} at ${e.seconds.toFixed(1)} s${eta}\n`);
  };
}

/** A progress line on stderr: iterations, accepted flips, fitness, evals/s, ETA. */
function progressPrinter(quiet: boolean): (e: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (e) => {
    if (quiet) return;
    const width = 24;
    const done = Math.round((width * (e.iteration + 1)) / e.iterations);
    const eta = Number.isFinite(e.etaSeconds) ? `${Math.round(e.etaSeconds)}s` : '?';
    const line = `[${'#'.repeat(done)}${'.'.repeat(width - done)}] step ${e.iteration + 1}/${e.iterations}  flips ${e.accepted}  fitness ${e.fitness.toFixed(4)}  ${e.evalsPerSecond.toFixed(1)} evals/s  ETA ${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (performance.now() - last > 5000 || e.iteration + 1 === e.iterations) {
      last = performance.now();
      process.stderr.write(line + '\n');
    }
  };
}

interface SearchSetup {
  model: Model;
  modelPath: string;
  sha256: string;
  target: LoadedProbes[];
  control: LoadedProbes[];
  heldout: LoadedProbes[];
  heldoutControl: LoadedProbes[];
  /** `bankai stack`'s samples, one per --target domain in order (none for `bankai search`, which adds its sample to its one domain). */
  samples: LoadedProbes[];
  config: Omit<SearchConfig, 'strategy' | 'strategyOptions'>;
  workers: number;
  layerCacheBytes: number;
}

const label = (l: LoadedProbes) => `${basename(l.path)}${l.sets.length ? '#' + l.sets.join(',') : ''}`;

/** --objective, --temperature and --pass-rate, checked (before any probe is read or model loaded). */
function objectiveOf(command: string, flags: Flags): { objective: Objective; temperature: number; passRate?: number } {
  const objective = flags.objective as Objective;
  if (!OBJECTIVES.includes(objective)) throw new CliError(`bankai ${command}: --objective must be ${OBJECTIVES.join(' or ')}, got "${objective}".`);
  const t = flags.temperature as number;
  if (!(t > 0)) throw new CliError(`bankai ${command}: --temperature must be > 0, got ${t}.`);
  const p = flags['pass-rate'] as number;
  if (p !== -1 && !(p > 0 && p < 1)) throw new CliError(`bankai ${command}: --pass-rate must be a fraction in (0, 1) (or -1: off), got ${p}.`);
  return { objective, temperature: t, ...(p !== -1 ? { passRate: p } : {}) };
}

function projsOf(command: string, flags: Flags): Projection[] {
  const projs = String(flags.projs).split(',').map((p) => p.trim()) as Projection[];
  for (const p of projs) if (!PROJECTIONS.includes(p)) throw new CliError(`bankai ${command}: --projs: unknown projection "${p}"; use ${PROJECTIONS.join(', ')}.`);
  return projs;
}

/**
 * The models, probes and SearchConfig of `bankai search` (perDomainSample false: its one --sample
 * joins its one --target domain and its greedy accuracy is the pass rate) or `bankai stack`
 * (perDomainSample true: the i-th --sample is domain i's StackDomain.sample, returned in
 * `samples`, and runStackStudy measures each one's pass rate).
 */
async function setupSearch(command: string, flags: Flags, perDomainSample = false): Promise<SearchSetup> {
  const fit = objectiveOf(command, flags);
  const target = await readProbeSpecs(command, flags, 'target');
  if (target.length === 0) throw new CliError(`bankai ${command}: --target FILE[#SETS] is required.`);
  const sample = flags.sample === undefined ? [] : await readProbeSpecs(command, flags, 'sample');
  const control = await readProbeSpecs(command, flags, 'control');
  const heldout = await readProbeSpecs(command, flags, 'heldout');
  const heldoutControl = await readProbeSpecs(command, flags, 'heldout-control');
  const modelPath = await modelPathOf(command, flags);
  const model = await openModel(modelPath);
  for (const group of [target, sample, control, heldout, heldoutControl]) probesOf(group, model, command);
  let sampleRate: number | undefined;
  if (sample.length > 0 && !perDomainSample) {
    if (target.length !== 1) throw new CliError(`bankai ${command}: --sample goes with one --target domain, got ${target.length}; give each domain's sample in its --target instead.`);
    const probes = sample.flatMap((l) => l.probes);
    const rate = samplePassRate(model, probes);
    sampleRate = rate.passRate;
    process.stderr.write(`sample: ${rate.right} of ${rate.n} right in greedy generation, pass rate ${rate.passRate.toFixed(3)}${fit.passRate !== undefined ? ' (--pass-rate given: not used)' : ''}\n`);
    target[0] = { ...target[0]!, probes: [...target[0]!.probes, ...probes] };
  }
  const granularity = flags.granularity as Granularity;
  if (granularity !== 'row' && granularity !== 'group') throw new CliError(`bankai ${command}: --granularity must be row or group.`);
  const aggregate = aggregateFlag(command, flags, 'aggregate');
  const projs = projsOf(command, flags);
  let layers: number[];
  try {
    layers = parseLayers(String(flags.layers), model.config.nLayer);
  } catch (e) {
    throw new CliError(`bankai ${command}: ${(e as Error).message}`);
  }
  const passRate = fit.passRate ?? sampleRate;
  const weighed = passRate !== undefined || (perDomainSample && sample.length > 0);
  if (fit.objective === 'accuracy' && !weighed && flags.resume !== true) {
    process.stderr.write(`bankai ${command}: note: no --sample or --pass-rate, so every target weighs 1; a target set picked for its failures then over-counts fixes against the right answers a flip breaks\n`);
  }
  const int = (name: string, min: number) => intFlag(command, flags, name, min);
  const sha256 = await sha256File(modelPath);
  return {
    model, modelPath, sha256, target, control, heldout, heldoutControl, samples: perDomainSample ? sample : [],
    workers: int('workers', 1),
    layerCacheBytes: int('layer-cache-mb', 0) * 1024 * 1024,
    config: {
      seed: int('seed', 0), iterations: int('iters', 1), layers, projs, granularity,
      metric: metricOf(command, flags), lambda: flags.lambda as number, aggregate,
      minGain: (flags['min-gain'] as number | undefined) ?? DEFAULT_MIN_GAIN[fit.objective],
      ...((flags.margin as number) >= 0 ? { targetMargin: flags.margin as number } : {}),
      ...((flags['control-margin'] as number) >= 0 ? { controlMargin: flags['control-margin'] as number } : {}),
      ...((flags.validation as number) > 0 ? { validation: flags.validation as number } : {}),
      ...((flags['max-broken'] as number) >= 0 ? { maxBrokenControls: int('max-broken', 0) } : {}),
      // (the gap objective, the library's default, adds no fields: logs of gap searches stay resumable)
      ...(fit.objective === 'accuracy' ? { objective: fit.objective, temperature: fit.temperature } : {}),
      ...(passRate !== undefined ? { passRate } : {}),
      ownAnswerDistractors: flags['own-answers'] as boolean,
      modelSha256: sha256, probesSha256: combinedSha256([...target, ...sample, ...control]),
    },
  };
}

/** `bankai search --dry-run`: the estimate of @bankai/search from the header alone, printed. */
async function dryRun(flags: Flags, strategy: Strategy, options: Record<string, string>, out: (line: string) => void): Promise<void> {
  const target = await readProbeSpecs('search', flags, 'target');
  if (target.length === 0) throw new CliError('bankai search: --target FILE[#SETS] is required.');
  const control = await readProbeSpecs('search', flags, 'control');
  const modelPath = await modelPathOf('search', flags);
  const src = await fileSource(modelPath);
  let header;
  try {
    header = await readGguf(src);
  } finally {
    await src.close();
  }
  const config = readModelConfig(header);
  let layers: number[];
  try {
    layers = parseLayers(String(flags.layers), config.nLayer);
  } catch (e) {
    throw new CliError(`bankai search: ${(e as Error).message}`);
  }
  for (const l of layers) if (!(Number.isInteger(l) && l >= 0 && l < config.nLayer)) throw new CliError(`bankai search: --layers: layer ${l} is outside 0..${config.nLayer - 1}.`);
  const workers = intFlag('search', flags, 'workers', 1);
  const iterations = intFlag('search', flags, 'iters', 1);
  const cacheMb = intFlag('search', flags, 'layer-cache-mb', 0);
  const resolved = checkedOptions('search', strategy, options);
  // exact evaluations a step: the strategy's verify or batch option (8 when it has neither)
  const perStep = Number(resolved.verify ?? resolved.batch ?? 8);
  const metric = metricOf('search', flags);
  const est = await estimateSearchFromHeader({
    header, target: target.flatMap((l) => l.probes), control: control.flatMap((l) => l.probes), layers, projs: projsOf('search', flags), workers, metric, iterations,
    evaluationsPerStep: perStep, firstOrder: ['guided', 'joint', 'evolution'].includes(strategy.name),
    ownAnswers: flags['own-answers'] as boolean, layerCacheBytes: cacheMb * 2 ** 20,
  });
  if (flags.json === true) {
    out(JSON.stringify({
      dryRun: true, model: modelPath, strategy: strategy.name, iterations, evaluationsPerStep: perStep, layers, workers, metric,
      shape: { layers: config.nLayer, nEmbd: config.nEmbd, nFf: config.nFf, vocab: config.vocabSize },
      estimate: est,
    }));
    return;
  }
  out(`dry run: ${basename(modelPath)} (${config.nLayer} layers, n_embd ${config.nEmbd}, n_ff ${config.nFf}, vocab ${config.vocabSize}), ${strategy.name}, ${iterations} steps of ${perStep} evaluations, layers ${layers.join(',')}, ${workers} worker(s), metric ${metric}`);
  for (const line of formatSearchEstimate(est, est.calibration)) out(line);
}

/** Run one search; write nothing. */
async function searchOnce(s: SearchSetup, strategy: Strategy, options: Record<string, string>, target: LoadedProbes[], extra: Partial<Parameters<typeof runSearch>[0]> = {}): Promise<SearchResult> {
  return runSearch({
    model: s.model,
    target: target.flatMap((l) => l.probes.map((probe) => ({ probe, domain: label(l) }))),
    control: s.control.flatMap((l) => l.probes),
    strategy,
    config: { ...s.config, strategy: strategy.name, strategyOptions: options },
    workers: s.workers,
    layerCacheBytes: s.layerCacheBytes,
    ...extra,
  });
}

function manifestOf(s: SearchSetup, r: SearchResult, strategy: Strategy, options: Record<string, string>, name: string): PatchManifest {
  return createManifest({
    name,
    description: `bankai search (${strategy.name}) on ${basename(s.modelPath)}: targets ${s.target.map(label).join(' ')}`,
    provenance: {
      tool: 'bankai', toolVersion: TOOL_VERSION, strategy: strategy.name, options: { ...options },
      seed: s.config.seed, metric: s.config.metric, probesSha256: s.config.probesSha256, fitness: r.fitness,
      createdAt: new Date().toISOString(),
      search: {
        iterations: s.config.iterations, layers: s.config.layers, projs: [...s.config.projs], granularity: s.config.granularity,
        lambda: s.config.lambda, aggregate: s.config.aggregate, minGain: s.config.minGain, evaluations: r.evaluations,
        targetGain: r.targetGain, controlLoss: r.controlLoss, seconds: Math.round(r.seconds * 10) / 10,
        targets: s.target.map(label), controls: s.control.map(label),
      },
    },
    flips: r.flips,
    model: modelShape(s.model, s.sha256),
  });
}

interface NullWanted { patches: number; seed: number }

type EvaluationGroup = Extract<CheckpointRecord, { type: 'evaluation' }>['group'];

/** The patch on one probe group in free generation (the result that counts), with the
 *  random-patch null drawn from the search's own space when one is wanted. */
function evalTable(s: SearchSetup, flips: PatchManifest['flips'], name: EvalGroup['name'], loaded: LoadedProbes[], maxTokens: number, nullWanted?: NullWanted): EvalGroup {
  const probes = loaded.flatMap((l) => l.probes);
  const nullOpts = nullWanted && nullWanted.patches > 0
    ? { ...nullWanted, layers: s.config.layers, projs: s.config.projs, granularity: s.config.granularity }
    : undefined;
  return evalGroupView(name, loaded, evaluatePatch(s.model, flips, probes, { metric: s.config.metric, maxTokens, null: nullOpts }));
}

/** What `bankai search` found: the search's typed result (without its per-probe arrays) and the
 *  final before/after tables, each next to its null; `--json` prints it, the text is printed from it. */
export interface SearchReport {
  model: string;
  strategy: string;
  options: Record<string, string>;
  out: string;
  log: string;
  /** The step a resumed search continued at (absent for a fresh search). */
  resumedAtStep?: number;
  result: Pick<SearchResult, 'flips' | 'fitness' | 'initialFitness' | 'targetGain' | 'controlLoss' | 'history' | 'evaluations' | 'backwards' | 'timing' | 'seconds' | 'stoppedEarly'>;
  /** The final tables in free generation (absent when no flip was accepted). */
  groups: { target?: EvalGroup; heldout?: EvalGroup; control?: EvalGroup; heldoutControl?: EvalGroup };
}

/** `bankai search` without its printing: runs the search, writes the patch, and returns the report;
 *  `say` gets the text lines as they become known (demo and search print them, --json drops them). */
export async function runSearchCommand(flags: Flags, say: (s: string) => void): Promise<SearchReport> {
  const strategy = await loadCliStrategy(String(flags.strategy));
  const outPath = requireFlag('search', flags, 'out');
  const nullWanted = nullFlagsOf('search', flags);
  const options = parseOpts(flags);
  checkedOptions('search', strategy, options);
  const logPath = checkpointPath(outPath);
  if (flags.resume !== true && existsSync(outPath) && flags.overwrite !== true) {
    throw new CliError(`bankai search: ${outPath} exists; pass --overwrite to replace it (and its log), or --resume to continue the search that wrote it.`);
  }
  const s = await setupSearch('search', flags);
  const resume = flags.resume === true ? readCheckpoint(logPath) : [];
  if (flags.resume === true && resume.length === 0) throw new CliError(`bankai search --resume: no checkpoint log at ${logPath}.`);
  if (flags.resume !== true && flags.overwrite !== true && existsSync(logPath) && readCheckpoint(logPath).length > 1) {
    throw new CliError(`bankai search: ${logPath} holds an earlier search; pass --resume to continue it, --overwrite to start over.`);
  }
  mkdirSync(dirname(resolve(outPath)), { recursive: true });
  const sink = fileCheckpoint(logPath, { fresh: flags.resume !== true });
  const { signal, release: releaseSigint } = stopAfterStepOnSigint();
  const resumedAtStep = resume.length ? resume.filter((x) => x.type === 'step').length + 1 : undefined;
  let r: SearchResult;
  try {
    say(`searching ${basename(s.modelPath)} with ${strategy.name}: ${s.config.iterations} steps, layers ${s.config.layers.join(',')}, ${s.config.projs.join(',')} ${s.config.granularity}s, ${s.workers} worker(s), seed ${s.config.seed}${resumedAtStep ? `, resuming at step ${resumedAtStep}` : ''}`);
    r = await searchOnce(s, strategy, options, s.target, { checkpoint: sink, resume, onProgress: progressPrinter(flags.quiet === true), onPhase: phasePrinter(flags.quiet === true), signal });
  } catch (e) {
    if (e instanceof StrategyError) throw new CliError(`bankai search: ${e.message}`);
    throw e;
  } finally {
    releaseSigint();
    sink.close();
    if (!flags.quiet) process.stderr.write('\n');
  }
  const manifest = manifestOf(s, r, strategy, options, basename(outPath).replace(/\.(json|bkp)$/, ''));
  await writePatchFile(outPath, manifest, { overwrite: true });
  const report: SearchReport = {
    model: s.modelPath, strategy: strategy.name, options, out: outPath, log: logPath, ...(resumedAtStep ? { resumedAtStep } : {}),
    result: {
      flips: r.flips, fitness: r.fitness, initialFitness: r.initialFitness, targetGain: r.targetGain, controlLoss: r.controlLoss, history: r.history,
      evaluations: r.evaluations, backwards: r.backwards, timing: r.timing, seconds: r.seconds, stoppedEarly: r.stoppedEarly,
    },
    groups: {},
  };
  say(`${r.stoppedEarly ? 'stopped early: ' : ''}${r.flips.length} flips accepted in ${r.seconds.toFixed(1)} s (${r.evaluations} candidate evaluations${r.backwards ? `, ${r.backwards} backward passes in ${r.timing.firstOrder.toFixed(1)} s` : ''}); fitness ${r.fitness.toFixed(4)} (target gain ${r.targetGain.toFixed(4)}, control loss ${r.controlLoss.toFixed(4)})`);
  const t = r.timing;
  say(`time: preparation ${t.prepare.toFixed(1)} s, exact evaluations ${t.evaluation.toFixed(1)} s (${t.cacheRefresh.toFixed(1)} s of it recomputing layer caches), first-order rankings ${t.firstOrder.toFixed(1)} s, other ${t.other.toFixed(1)} s; residuals cached at layers ${r.caches.cacheLayers.join(',')}${r.caches.mlpLayers.length ? `, MLP stages at ${r.caches.mlpLayers.join(',')}` : ''}`);
  say(`wrote ${outPath}`);
  if (r.flips.length === 0) return report;
  const maxTokens = flags['max-tokens'] as number;
  // each final table is also appended to the log (an `evaluation` record): `bankai report` reads it
  const logSink = fileCheckpoint(logPath, { fresh: false });
  const record = (group: EvaluationGroup, c: EvalGroup) => logSink.append({
    type: 'evaluation', group, n: c.accuracy.before.n, correctBefore: c.accuracy.before.correct, correctAfter: c.accuracy.after.correct,
    fixed: c.counts.fixed, broken: c.counts.broken, net: c.net.total,
    ...(c.null ? { null: { patches: c.null.patches, flips: c.null.flips, medianNet: c.null.medianNet, maxNet: c.null.maxNet, p: c.null.p } } : {}),
  });
  try {
    for (const [name, loaded] of [['probes', s.target], ['heldout', s.heldout]] as const) {
      if (loaded.length === 0) continue;
      const c = evalTable(s, manifest.flips, name, loaded, maxTokens, nullWanted);
      printGroup(c, s.config.metric, say);
      record(name === 'probes' ? 'target' : 'heldout', c);
      report.groups[name === 'probes' ? 'target' : 'heldout'] = c;
    }
    const summary = (title: string, loaded: LoadedProbes[], group: 'control' | 'heldout-control') => {
      if (loaded.length === 0) return;
      const c = evalTable(s, manifest.flips, 'probes', loaded, maxTokens, nullWanted);
      record(group, c);
      report.groups[group === 'control' ? 'control' : 'heldoutControl'] = c;
      say(`\n== ${title}: greedy accuracy ${c.accuracy.before.correct}/${c.accuracy.before.n} -> ${c.accuracy.after.correct}/${c.accuracy.after.n} (fixed ${c.counts.fixed}, broken ${c.counts.broken})`);
      for (const [k, v] of Object.entries(c.byCategory)) say(`  ${k.padEnd(24)} ${v.before.correct}/${v.before.n} -> ${v.after.correct}/${v.after.n}`);
      printNull(c, say);
    };
    summary('control probes (guarded by the search)', s.control, 'control');
    summary('held-out probes of the other skills (never seen by the search)', s.heldoutControl, 'heldout-control');
  } finally {
    logSink.close();
  }
  return report;
}

export const search: Command = {
  summary: 'search a sparse XOR patch: improve target probes while control probes guard the other skills',
  usage: 'bankai search [--model FILE] --target FILE[#SETS]... [--control FILE[#SETS]...] [--heldout ...] [--strategy guided] [--null K] --out PATCH.json [--overwrite | --resume] [--json]',
  flags: {
    ...searchFlags,
    ...nullFlags,
    overwrite: { type: 'boolean', help: 'replace an existing --out patch and its checkpoint log (without it, search refuses to)' },
    'dry-run': { type: 'boolean', help: 'estimate the search\'s time and memory (model shape from the GGUF header, the probes\' tokens, a short engine measurement on this machine) and exit' },
    json: { ...jsonFlag, help: 'print one JSON object (the search result and the final tables; with --dry-run the estimate) instead of text' },
  },
  details: 'Every step is appended to PATCH.json.log.jsonl; --resume continues a killed search to the same result.\n' +
    'An existing --out is never replaced silently: --overwrite starts over, --resume continues.\n' +
    'Ctrl-C stops after the current step and writes the patch found so far. The final tables put the patch\'s net\n' +
    '(fixed - broken) next to K random patches of its size from the same space (--null K, 0: none).',
  async run(flags, out) {
    if (flags['help-strategy']) {
      out(strategyHelp(await loadCliStrategy(String(flags.strategy))));
      return;
    }
    if (flags['dry-run']) {
      const strategy = await loadCliStrategy(String(flags.strategy));
      return dryRun(flags, strategy, parseOpts(flags), out);
    }
    const json = flags.json === true;
    const report = await runSearchCommand(flags, json ? () => {} : out);
    if (json) out(JSON.stringify(report));
  },
};

export const stackCompare: Command = {
  summary: 'the stacking study: search each target domain alone, stack the patches by XOR, repair the stack into one joint patch, and compare all three on held-out probes against a random-patch null',
  usage: 'bankai stack --compare --target A.json[#SETS] --target B.json[#SETS]... [--heldout ...] [--sample A-natural.json --sample B-natural.json...] [--control ...] [--heldout-control ...] [--joint-strategy joint] [--json] [search flags]',
  flags: {
    ...searchFlags,
    ...nullFlags,
    compare: { type: 'boolean', help: 'run the comparison (required: this command only compares)' },
    opt: { type: 'list', value: 'KEY=VALUE', help: 'an option of --strategy, the per-domain searches (repeatable); --help-strategy lists them' },
    'joint-strategy': { type: 'string', value: 'NAME|PATH', help: 'strategy for the joint patch; it starts from the XOR stack of the domain patches', default: 'joint' },
    'joint-opt': { type: 'list', value: 'KEY=VALUE', help: 'an option of --joint-strategy (repeatable)' },
    'joint-iters': { type: 'number', value: 'N', help: 'steps of the joint search (default: --iters; an evolution joint search runs every step it is given)' },
    'joint-aggregate': { type: 'string', value: 'mean|min', help: 'the joint fitness: the mean of the domains\' gains, or the worst-off domain\'s (a move that takes from a domain doing well to give back to one the stack costs then counts)', default: 'mean' },
    'help-strategy': { type: 'boolean', help: 'print the options of --strategy and --joint-strategy and exit' },
    heldout: { type: 'list', value: 'FILE[#SETS]', help: 'one held-out set per --target, in the same order (default: score the targets themselves)' },
    'heldout-control': { type: 'list', value: 'FILE[#SETS]', help: 'held-out probes of the other skills: each patch\'s collateral fixed / broken, against the null' },
    sample: { type: 'list', value: 'FILE[#SETS]', help: 'per domain: one natural sample per --target, in the same order, or none (prompts in the model\'s own mix of right and wrong answers, e.g. the skill\'s training examples): added to that domain\'s targets in its own and the joint search, and unless --pass-rate is given the model\'s greedy accuracy on it (rule of succession) is that domain\'s pass rate' },
    'pass-rate': { ...searchFlags['pass-rate'], help: 'every domain\'s pass rate (the fraction of its prompts the model gets right), instead of its sample\'s: right and wrong targets are weighed in that proportion; -1: each domain\'s sample sets it, and without samples every target weighs 1' },
    out: { type: 'string', value: 'DIR', help: 'write each domain\'s patch, the stacked and the joint patch into DIR, with each search\'s checkpoint log (optional)' },
    resume: { type: 'boolean', help: 'continue a killed study from the checkpoint logs in --out DIR (same options)' },
    json: { ...jsonFlag, help: 'print the study\'s result as one JSON object instead of tables' },
  },
  details: 'Each --target is one domain; its --heldout and --sample are the ones at its place (give one per --target, or none).\n' +
    'The searches use bankai search\'s defaults (the accuracy objective: give each domain its --sample, or --pass-rate).\n' +
    'Per domain its held-out (or target) probes are scored in free generation for its own patch,\n' +
    'the naive XOR stack of all domain patches, and the joint patch, each next to K random patches of the same size\n' +
    'from the search space (--null K). The joint search starts from the stack and accepts only moves that\n' +
    'raise its fitness, so on the search objective it is never worse than the stack. The last table measures every\n' +
    'flip of the domain patches on that objective: where stacking cancels and which flips conflict.',
  async run(flags, out) {
    if (flags.compare !== true) throw new CliError('bankai stack: pass --compare (patch composition itself is `bankai patch stack`).');
    const single = await loadCliStrategy(String(flags.strategy));
    const joint = await loadCliStrategy(String(flags['joint-strategy']));
    if (flags['help-strategy']) {
      out(`per-domain searches (--strategy, --opt):\n${strategyHelp(single)}\n\njoint patch (--joint-strategy, --joint-opt):\n${strategyHelp(joint)}`);
      return;
    }
    const options = parseOpts(flags, 'stack');
    const jointOptions = parseOpts(flags, 'stack', 'joint-opt');
    // unknown or malformed options fail here, before any search runs
    checkedOptions('stack', single, options);
    checkedOptions('stack', joint, jointOptions);
    const jointIterations = flags['joint-iters'] === undefined ? undefined : intFlag('stack', flags, 'joint-iters', 1);
    const jointAggregate = aggregateFlag('stack', flags, 'joint-aggregate');
    const nullWanted = nullFlagsOf('stack', flags);
    const count = (name: string) => ((flags[name] as string[] | undefined) ?? []).length;
    const domainCount = count('target');
    if (domainCount < 2) throw new CliError('bankai stack --compare: give two or more --target domains.');
    // held-out sets and samples pair with the targets in order (the i-th --heldout / --sample is
    // domain i's); without held-out sets each domain's own target probes are scored, without
    // samples every target weighs 1 (or --pass-rate weighs them); checked before any file is read
    for (const name of ['heldout', 'sample']) {
      const n = count(name);
      if (n > 0 && n !== domainCount) {
        throw new CliError(`bankai stack --compare: give one --${name} per --target (in the same order), or none; got ${n} --${name} for ${domainCount} --target.`);
      }
    }
    const s = await setupSearch('stack', flags, true);
    const names = s.target.map(label);
    if (new Set(names).size !== names.length) throw new CliError('bankai stack --compare: two --target domains are the same file and sets.');
    const dir = typeof flags.out === 'string' ? flags.out : undefined;
    if (flags.resume === true && !dir) throw new CliError('bankai stack --compare --resume: pass --out DIR, where the checkpoint logs are.');
    const fileName = (id: StackSearchId) => (id.kind === 'joint' ? 'joint' : `alone-${id.domain!.replace(/[^\w.-]+/g, '_')}`);
    const logOf = (id: StackSearchId) => checkpointPath(join(dir!, `${fileName(id)}.json`));
    if (dir) {
      mkdirSync(dir, { recursive: true });
      if (flags.resume !== true) {
        for (const id of [...names.map((domain) => ({ kind: 'alone' as const, domain, seed: s.config.seed })), { kind: 'joint' as const, seed: s.config.seed }]) {
          if (existsSync(logOf(id)) && readCheckpoint(logOf(id)).length > 1) {
            throw new CliError(`bankai stack --compare: ${logOf(id)} holds an earlier search; pass --resume to continue the study, or delete it to start over.`);
          }
        }
      }
    }
    const sinks: { close(): void }[] = [];
    const checkpoints = dir
      ? (id: StackSearchId) => {
        const resume = flags.resume === true ? readCheckpoint(logOf(id)) : [];
        const sink = fileCheckpoint(logOf(id), { fresh: resume.length === 0 });
        sinks.push(sink);
        return { sink, resume };
      }
      : undefined;
    const { signal, release: releaseSigint } = stopAfterStepOnSigint();
    const progress = progressPrinter(flags.quiet === true);
    let result: StackStudyResult;
    try {
      result = await runStackStudy({
        model: s.model,
        // each domain's sample (its pass rate measured by the study) and --pass-rate, as runStackStudy takes them
        domains: s.target.map((l, i) => ({
          name: names[i]!, target: l.probes, heldout: (s.heldout[i] ?? l).probes,
          ...(s.samples[i] ? { sample: s.samples[i]!.probes } : {}),
          ...(s.config.passRate !== undefined ? { passRate: s.config.passRate } : {}),
        })),
        control: s.control.flatMap((l) => l.probes),
        other: s.heldoutControl.flatMap((l) => l.probes),
        single: { strategy: single, options },
        joint: { strategy: joint, options: jointOptions, ...(jointIterations !== undefined ? { iterations: jointIterations } : {}) },
        config: s.config,
        jointAggregate,
      }, {
        seeds: [s.config.seed], workers: s.workers, nullPatches: nullWanted.patches, nullSeed: nullWanted.seed,
        maxTokens: flags['max-tokens'] as number, layerCacheBytes: s.layerCacheBytes, checkpoints, signal,
        onProgress: (m) => {
          if (flags.quiet !== true) process.stderr.write(`${m}\n`);
        },
        onSearchProgress: (_id, e) => progress(e),
      });
    } catch (e) {
      if (e instanceof StrategyError) throw new CliError(`bankai stack: ${e.message}`);
      throw e;
    } finally {
      releaseSigint();
      for (const k of sinks) k.close();
    }
    // each domain's sample, as `bankai search` prints its one (the study measured it before any search)
    result.passRates.forEach((p, i) => {
      if (p.sample === 0) return;
      const how = p.sampleRight !== undefined ? `${p.sampleRight} of ${p.sample} right in greedy generation, pass rate ${p.passRate!.toFixed(3)}` : `${p.sample} prompts, pass rate ${p.passRate!.toFixed(3)} (--pass-rate given)`;
      process.stderr.write(`sample of ${names[i]} (${label(s.samples[i]!)}): ${how}\n`);
    });
    const run = result.runs[0]!;
    if (run.own.some((p) => p.stoppedEarly) || run.joint.stoppedEarly) out('stopped early (Ctrl-C): the patches are those found so far; --resume continues');
    if (dir) {
      const shape = modelShape(s.model, s.sha256);
      const provenance = (strategy: string, extra: Record<string, unknown> = {}) => ({ tool: 'bankai', toolVersion: TOOL_VERSION, strategy, seed: s.config.seed, ...extra });
      const patches = [
        ...run.own.map((p, i) => ({ name: fileName({ kind: 'alone', domain: names[i]!, seed: s.config.seed }), flips: p.flips, provenance: provenance(single.name, { options: { ...options }, fitness: p.fitness }) })),
        { name: 'stacked', flips: run.stack.flips, provenance: provenance('xor-stack', { fitness: run.stack.fitness }) },
        { name: 'joint', flips: run.joint.flips, provenance: provenance(joint.name, { options: { ...jointOptions }, fitness: run.joint.fitness }) },
      ];
      for (const p of patches) {
        const search = { layers: s.config.layers, projs: [...s.config.projs], granularity: s.config.granularity, targets: names, controls: s.control.map(label) };
        await writePatchFile(join(dir, `${p.name}.json`), createManifest({ name: p.name, flips: p.flips, provenance: { ...p.provenance, search }, model: shape }), { overwrite: true });
      }
    }
    if (flags.json) {
      out(JSON.stringify(result));
      return;
    }
    const c = s.config;
    out(`search: objective ${c.objective ?? 'gap'}${c.objective === 'accuracy' ? ` (temperature ${c.temperature})` : ''}, min-gain ${c.minGain}, lambda ${c.lambda}, ${c.iterations} steps${jointIterations !== undefined ? ` (joint ${jointIterations})` : ''}, seed ${c.seed}; joint fitness: ${jointAggregate === 'min' ? 'the worst-off domain\'s gain' : 'the mean of the domains\' gains'}; pass rates from ${c.passRate !== undefined ? '--pass-rate' : s.samples.length ? 'each domain\'s --sample' : 'nothing (every target weighs 1)'}`);
    out(`held-out probes: ${names.map((n, i) => `${n} -> ${label(s.heldout[i] ?? s.target[i]!)}`).join(', ')}${s.heldoutControl.length ? `; other skills: ${s.heldoutControl.map(label).join(' ')}` : ''}\n`);
    out(formatStackStudy(result));
    if (dir) out(`wrote the patches to ${dir}/`);
  },
};
