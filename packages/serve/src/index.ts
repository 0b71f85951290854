// @bankai/serve: an OpenAI-compatible HTTP app over one Bankai model with hot-swapped patches.
// Runtime-neutral (a web-standard fetch handler); `@bankai/serve/node` reads a patch folder,
// watches it and listens on a port.

export { createServeApp, type ModelList, type ModelListEntry, type PieceEvent, type RequestRecord, type ServeApp, type ServeAppOptions, type ServeDefaults, type ServeHooks } from './app.js';
export { ApiError, toApiError, type ApiErrorBody } from './errors.js';
export { formatPrometheus, ServeMetrics, type MetricsSnapshot } from './metrics.js';
export { BASE_MODEL_ID, PATCH_EXTENSIONS, PatchLibrary, patchIdOf, type LibraryChange, type PatchFile, type PatchLibraryOptions, type RefusedPatch, type ServedPatch } from './patches.js';
export { AbortedWhileQueued, EngineScheduler, type SchedulerOptions, type SwapRecord } from './scheduler.js';
export { chatRequest, completionRequest, parseRequest, type ChatRequest, type CompletionRequest } from './schemas.js';
