export { diffCi, mean, meanCi, ratioCi, type BootstrapOptions, type Interval } from './bootstrap.js';
export {
  defaultSizes, EXPERIMENT_NAMES, EXPERIMENTS, experimentByName,
  type Experiment, type ExperimentContext, type ExperimentInputs, type ExperimentMeasurement, type ExperimentSizes, type SkillProbes,
} from './experiments.js';
export { renderSvg, type VegaLiteSpec } from './plots.js';
export { escapeHtml, renderExperimentsReport, renderSearchReport, summarizeSearchLog, type EvaluationRecord, type SearchLogSummary, type SearchReportExtra } from './report.js';
export {
  randomIndices, runLayerMap, runScaleRatio, singleFlipEffects,
  type LayerMapOptions, type LayerMapResult, type RowEffectOptions, type RowGroupEffects, type ScaleRatioOptions, type ScaleRatioResult,
} from './row-effects.js';
export {
  ExperimentOptionError, formatVerdictTable, memoryStore, resultKey, runExperiments, selectExperiments,
  type ResultStore, type RunExperimentsOptions, type RunExperimentsResult,
} from './runner.js';
export {
  ExperimentResultSchema, parseExperimentResult, parseResults, ProvenanceSchema, RESULTS_SCHEMA, ResultsFileSchema, ResultsFormatError, VerdictSchema,
  type ExperimentResult, type Provenance, type ResultsFile, type Verdict,
} from './schema.js';
