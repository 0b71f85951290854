// Which errors are bad input (one line, exit 1) and which are bugs (a trace, exit 70).
import { describe, expect, it } from 'vitest';
import { FileAccessError, FileExistsError } from '@bankai/gguf/node';
import { GgufError } from '@bankai/gguf';
import { ContextLengthError, ModelConfigError, TokenizerError } from '@bankai/model';
import { PatchFormatError } from '@bankai/patch-format';
import { ProbeFormatError } from '@bankai/probes';
import { CliError } from './args.js';
import { isUserError } from './errors.js';

describe('isUserError', () => {
  it('takes the typed errors and CliError as bad input', () => {
    for (const e of [
      new CliError('x'), new GgufError('x'), new FileAccessError('f', 'no such file', 'check the path', 'ENOENT'), new FileExistsError('f'),
      new ModelConfigError('x'), new TokenizerError('x', { field: 'tokenizer.ggml.tokens', fix: 'y' }), new ContextLengthError(10, 5),
      new PatchFormatError('x'), new ProbeFormatError('x'),
    ]) expect(isUserError(e), e.name).toBe(true);
  });

  it('takes any other error as a bug: a plain RangeError, a TypeError, a raw system error', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT', path: 'x' });
    for (const e of [new RangeError('varint out of range: NaN'), new RangeError('Maximum call stack size exceeded'), new TypeError('x is undefined'), enoent, 'a string']) {
      expect(isUserError(e), String(e)).toBe(false);
    }
    // the search's option checks are typed: their error is the user's, a plain RangeError with the same words is not
    expect(isUserError(new RangeError('search space: layer 9 is outside 0..3'))).toBe(false);
    expect(isUserError(Object.assign(new RangeError('search space: layer 9 is outside 0..3'), { name: 'SearchOptionError' }))).toBe(true);
  });
});
