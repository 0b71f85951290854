// @bankai/probes: probe files, metrics, the generation matcher, the probe audit and built-in
// probe sets. Runtime-neutral (no node: imports); files on disk live in `@bankai/probes/node`.

export { METRICS } from './types.js';
export type { Metric, PreparedProbe, Probe, ProbeFile, ProbeSet, ScoredSequence, SequenceScorer, SequenceScores } from './types.js';
export { prepareProbes, type Encoder, type PrepareOptions } from './prepare.js';
export { splitInContext } from '@bankai/model';
export { competitorGap, probeGap, teacherForcedCorrect } from './metric.js';
export { ProbeFormatError, type ProbeErrorLocation } from './errors.js';
export {
  DEFAULT_SET_NAME, PROBE_KEYS, dedupeProbes, formatProbeFile, parseProbeFile, parseProbeSpec, selectProbes, selectSets,
  type ProbeSpec,
} from './file.js';
export { modelScorer, runnerScorer, scoreSequence } from './scorer.js';
export { scoreRows } from '@bankai/model';
export { matchProbe, matchesAnswer, normalizeAnswer, type MatchOptions, type MatchResult, type Verdict } from './match.js';
export {
  DEFAULT_MAX_TOKENS, NO_CATEGORY, countByCategory, countVerdicts, evaluateGeneration, scoreProbes,
  type AccuracyCount, type GenerationEvaluation, type GenerationOptions, type GenerationResult, type ProbeScore, type TextGenerator,
} from './evaluate.js';
export {
  DEAD_GAP, auditProbes, rankOf,
  type AuditFlag, type AuditFlagKind, type AuditModel, type AuditOptions, type AuditReport, type ProbeAudit,
} from './audit.js';
export {
  TINY_PROBE_SETS, TINY_PROBE_SKILLS, SHIPPED_MODEL_NAMES, builtinProbes, shippedModel, shippedProbeSpec, tinyModelPath, tinyProbePath, tinyProbeSpec,
  type ShippedModel, type ShippedModelName, type SkillName, type TinyProbeSet,
} from './builtin.js';
export { modelDistractor, withModelDistractors, type DistractorOptions, type ModelDistractor } from './distractor.js';
