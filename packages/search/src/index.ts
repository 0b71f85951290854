export { Rng } from '@bankai/rng';
export { CandidateSpace, parseLayers, PROJECTIONS, SearchOptionError, type Candidate, type Granularity, type Projection, type SpaceOptions, type SpaceTensor } from './space.js';
export { Evaluator, type EvalPart, type EvalResult, type EvalTask } from './evaluator.js';
export { samplePassRate, type SamplePassRate } from './pass-rate.js';
export { clearsSelectionBar, controlLoss, DEFAULT_MIN_GAIN, DEFAULT_TEMPERATURE, fitness, normalUpperTail, OBJECTIVES, stratumWeights, targetGain, validationFitness, validationPValue, type Aggregate, type FitnessOptions, type FitnessParts, type Objective, type ValidationParts } from './fitness.js';
export {
  defineStrategy, isStrategy, optionRange, resolveOptions, StrategyError,
  type Evaluation, type FirstOrderRanking, type OptionSpec, type OptionValues, type ProgressEvent, type SearchContext, type Strategy,
} from './strategy.js';
export {
  chooseCacheLayers, DEFAULT_LAYER_CACHE_BYTES, domainStratumWeights, ownAnswers, planLayerCaches, runSearch, validationByDomain, validationSplit,
  type CheckpointRecord, type CheckpointSink, type LayerCachePlan, type PhaseEvent, type SearchConfig, type SearchInput, type SearchResult, type SearchTiming,
} from './search.js';
export { loadStrategy, type LoadStrategyOptions, type NamedStrategies } from './loader.js';
export { hillClimb, scaleOrder, scaleSampler, type HillClimbOptions } from './hill-climb.js';
export { FirstOrderModel, logprobSeed, measureFirstOrder, type FirstOrderAccuracy, type FirstOrderEffects } from './first-order.js';
export {
  DEFAULT_NULL_PATCHES, NullSpaceError, changeOf, countChanges, evaluateManifest, evaluatePatch, nullSpaceOf, randomPatch, summarizeNull,
  type Change, type ChangeCounts, type ManifestEvalOptions, type ManifestEvaluation, type NullOptions, type NullSpaceSource, type NullSummary,
  type PatchEvalOptions, type PatchEvaluation, type ProbeChange, type ProbeOutcome,
} from './patch-eval.js';
export { spearman, spread, type Spread } from './stats.js';
export {
  formatStudy, runStudy, STUDY_GROUPS,
  type GroupOutcome, type StudyArm, type StudyCell, type StudyGroup, type StudyOptions, type StudyResult, type StudyRun, type StudySkill,
} from './study.js';
export {
  formatStackStudy, OTHER_SKILLS, runStackStudy, STACK_ARMS, stackCells, stackVerdict, xorStack,
  type StackArm, type StackCancellation, type StackCell, type StackDomain, type StackFlip, type StackOutcome, type StackPatch,
  type StackHeldout, type StackRun, type StackSearchId, type StackStrategy, type StackStudyInput, type StackStudyOptions, type StackStudyResult, type StackVerdict,
} from './stack-study.js';
export {
  calibrateEngine, estimateSearch, estimateSearchFromHeader, formatSearchEstimate, layerSecondsAt,
  type CalibrateOptions, type EngineCalibration, type HeaderEstimateInput, type SearchEstimate, type SearchEstimateInput, type SearchPlan,
} from './estimate.js';
export { formatRobustness, meanNll, oneBitWeights, randomBitFlips, runRobustness, type RobustnessOptions, type RobustnessPoint, type RobustnessResult, type RobustnessRun } from './robustness.js';
