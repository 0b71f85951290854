// The one error type of this package: every problem with a patch names where it is (file, JSON
// path or byte offset), what is wrong, and how to fix it.

export interface PatchErrorLocation {
  /** The file (or other source label) the patch came from. */
  readonly file?: string;
  /** JSON path inside the document, e.g. `flips[17].proj`. */
  readonly path?: string;
  /** Byte offset inside a binary patch. */
  readonly offset?: number;
  /** What the user should do about it. */
  readonly fix?: string;
}

export class PatchFormatError extends Error {
  readonly file?: string;
  readonly path?: string;
  readonly offset?: number;
  readonly fix?: string;
  /** The problem alone, without location and fix. */
  readonly problem: string;

  constructor(problem: string, where: PatchErrorLocation = {}) {
    const location = [
      where.file,
      where.path,
      where.offset !== undefined ? `byte ${where.offset}` : undefined,
    ]
      .filter((part) => part !== undefined && part !== '')
      .join(': ');
    super(`${location ? `${location}: ` : ''}${problem}${where.fix ? `. Fix: ${where.fix}` : ''}`);
    this.name = 'PatchFormatError';
    this.problem = problem;
    this.file = where.file;
    this.path = where.path;
    this.offset = where.offset;
    this.fix = where.fix;
  }
}

/** Source label and JSON-path prefix carried through the validators. */
export interface Where {
  readonly file?: string;
  readonly path: string;
}

export function fail(where: Where, problem: string, fix?: string): never {
  throw new PatchFormatError(problem, { file: where.file, path: where.path, fix });
}

export function at(where: Where, key: string | number): Where {
  const path =
    typeof key === 'number' ? `${where.path}[${key}]` : where.path ? `${where.path}.${key}` : key;
  return { file: where.file, path };
}
