// The documented schema of an experiment's result and of DIR/results.json, as zod schemas (the
// TypeScript types are inferred from them, so the schema and the types cannot drift apart).
// Numbers that could not be measured (a ratio over no movement at all) are null: JSON has no NaN.
//
// results.json
//   schema        "bankai-experiments/1"
//   provenance    model (path, sha256, bytes), packages (name -> version), node, seeds, quick,
//                 command (argv), started / finished (ISO times)
//   experiments   one ExperimentResult per experiment that finished, in registry order
//
// ExperimentResult
//   name, title        registry name (`--only NAME`) and a one-line title
//   claim              the upstream claim it tests: text, source (the paper's experiment), and the
//                      claimed number where there is one
//   metric             what `value` measures, and its unit
//   value, ci          the measured value and its 95% percentile-bootstrap interval (resampled
//                      over `ci.over`: seeds, or single flips pooled over seeds)
//   seeds              the seeds measured
//   null               the random-patch (or unpatched) reference the value is read against
//   verdict, rule      agrees | disagrees | inconclusive, and the rule that gave it, in words
//   table              rows behind the plot (experiment-specific columns, numbers and strings)
//   details            anything else the experiment reports (per-seed values, sizes)
//   key                what the result was measured with (model sha256, sizes, seeds): a rerun
//                      with the same key skips it
import { z } from 'zod';

export const RESULTS_SCHEMA = 'bankai-experiments/1';

const num = z.number().nullable();

export const VerdictSchema = z.enum(['agrees', 'disagrees', 'inconclusive']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const ExperimentResultSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  title: z.string(),
  claim: z.object({ text: z.string(), source: z.string(), value: num.optional() }),
  metric: z.object({ name: z.string(), unit: z.string() }),
  value: num,
  ci: z.object({
    lo: num, hi: num, level: z.literal(0.95), method: z.literal('percentile bootstrap'),
    resamples: z.number().int().positive(), over: z.string(),
  }),
  seeds: z.array(z.number().int()).min(1),
  null: z.object({ description: z.string(), value: num, ci: z.object({ lo: num, hi: num }).optional() }),
  verdict: VerdictSchema,
  rule: z.string(),
  table: z.array(z.record(z.string(), z.union([z.number(), z.string(), z.null()]))),
  details: z.record(z.string(), z.unknown()),
  seconds: z.number().nonnegative(),
  key: z.string(),
});
export type ExperimentResult = z.infer<typeof ExperimentResultSchema>;

export const ProvenanceSchema = z.object({
  model: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() }),
  packages: z.record(z.string(), z.string()),
  node: z.string(),
  seeds: z.array(z.number().int()),
  quick: z.boolean(),
  command: z.array(z.string()),
  started: z.string(),
  finished: z.string(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const ResultsFileSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  provenance: ProvenanceSchema,
  experiments: z.array(ExperimentResultSchema),
});
export type ResultsFile = z.infer<typeof ResultsFileSchema>;

/** Thrown for a results file or stored result that does not match the schema: names the file and the field. */
export class ResultsFormatError extends Error {
  override name = 'ResultsFormatError';
}

/** Parses and validates results.json's content; ResultsFormatError naming the first bad field. */
export function parseResults(value: unknown, file = 'results.json'): ResultsFile {
  const r = ResultsFileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ResultsFormatError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message} (write it with \`bankai experiments\`, schema ${RESULTS_SCHEMA})`);
  }
  return r.data;
}

/** Validates one experiment's result (a stored DIR/experiments/NAME.json); null when it does not match. */
export function parseExperimentResult(value: unknown): ExperimentResult | null {
  const r = ExperimentResultSchema.safeParse(value);
  return r.success ? r.data : null;
}
