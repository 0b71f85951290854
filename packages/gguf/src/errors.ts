/**
 * The one error type of this package. Every message says which file, which key or tensor and
 * which byte offset is wrong, and what to do about it, so a user can act on it without a debugger.
 */
export class GgufError extends Error {
  override readonly name = 'GgufError';
  constructor(
    message: string,
    /** The file (ByteSource name) the problem is in. */
    readonly file?: string,
    /** Absolute byte offset of the offending field, when there is one. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** Builds `file: at byte N: what. fix` consistently. */
export function ggufError(file: string, offset: number | undefined, what: string, fix: string): GgufError {
  const where = offset === undefined ? `${file}` : `${file}: at byte ${offset}`;
  return new GgufError(`${where}: ${what}. ${fix}`, file, offset);
}
