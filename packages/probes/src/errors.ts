// The one error type for bad probe files: it names the file, the JSON path of the culprit
// (`sets.MATH[3].correct`) and how to fix it.

export interface ProbeErrorLocation {
  /** The file (or other source label) the probes came from. */
  readonly file?: string;
  /** JSON path inside the document, e.g. `sets.MATH[3].correct`. */
  readonly path?: string;
  /** What the user should do about it. */
  readonly fix?: string;
}

export class ProbeFormatError extends Error {
  readonly file?: string;
  readonly path?: string;
  readonly fix?: string;
  /** The problem alone, without location and fix. */
  readonly problem: string;

  constructor(problem: string, where: ProbeErrorLocation = {}) {
    const location = [where.file, where.path].filter((p) => p !== undefined && p !== '').join(': ');
    super(`${location ? `${location}: ` : ''}${problem}${where.fix ? `. Fix: ${where.fix}` : ''}`);
    this.name = 'ProbeFormatError';
    this.problem = problem;
    this.file = where.file;
    this.path = where.path;
    this.fix = where.fix;
  }
}
