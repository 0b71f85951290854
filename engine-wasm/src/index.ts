export { compileEngine, createEngine, Engine, EngineMemoryError, MAX_PAGES } from './engine.js';
export type {
  Ptr, Q1Layout, Q1Tensor, FlipSet, CreateEngineOptions, CompileEngineOptions, EngineVariant,
} from './engine.js';
export type { EngineExports } from './exports.js';
