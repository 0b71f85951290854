// Which errors are the user's to fix. Bad input (a file, a flag, an option, a limit of the
// machine) is one of the project's typed errors, each naming the culprit and the fix, or a
// CliError; anything else (a TypeError, a plain RangeError, a raw system error) is a bug.

import { CliError } from './args.js';

/**
 * The project's typed errors: each describes bad input (a file, a flag, an option, a limit of
 * the machine) and names the culprit and the fix. Matched by name, so that a second copy of a
 * package (a strategy with its own @bankai/search) is recognised too.
 */
const USER_ERRORS = new Set([
  'GgufError', 'FileAccessError', 'FileExistsError', // @bankai/gguf
  'PatchFormatError', // @bankai/patch-format
  'ModelConfigError', 'TokenizerError', 'ChatTemplateError', 'GenerationOptionError', 'ContextLengthError', 'BackwardError', // @bankai/model
  'EngineMemoryError', // @bankai/engine-wasm
  'ProbeFormatError', // @bankai/probes
  'StrategyError', 'NullSpaceError', 'SearchOptionError', // @bankai/search
  'ServeConfigError', // @bankai/serve
  'FreshPromptsError', // @bankai/tiny-model
]);

/** True for bad input: printed as one line, exit 1. */
export function isUserError(e: unknown): e is Error {
  if (e instanceof CliError) return true;
  if (!(e instanceof Error)) return false;
  return USER_ERRORS.has(e.name);
}

