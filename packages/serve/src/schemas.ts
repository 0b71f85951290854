// The request bodies of /v1/completions and /v1/chat/completions as zod schemas: OpenAI's
// fields, plus top_k / min_p / repetition_penalty (as llama.cpp and vLLM accept them) and
// chat_template_kwargs (enable_thinking). Unknown fields are refused, as OpenAI refuses them;
// fields Bankai cannot honour (n > 1, logprobs, tools, ...) are refused with the reason.

import { z } from 'zod';
import { ApiError } from './errors.js';

const unsupported = (what: string) => ({ error: what });

const stop = z.union([z.string().min(1), z.array(z.string().min(1, { error: 'a stop string must not be empty' })).max(4)], {
  error: 'stop must be a non-empty string or a list of up to 4 non-empty strings',
});

/** Fields both endpoints share: sampling, stopping, streaming. */
const common = {
  model: z.string({ error: 'model must be a string: "base" or the name of a patch (GET /v1/models lists them)' }).min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
  frequency_penalty: z.literal(0, unsupported('frequency_penalty is not supported (only 0); use repetition_penalty')).nullish(),
  presence_penalty: z.literal(0, unsupported('presence_penalty is not supported (only 0); use repetition_penalty')).nullish(),
  seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullish(),
  stop: stop.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  n: z.literal(1, unsupported('only n = 1 is supported: send one request per completion')).nullish(),
  logit_bias: z.record(z.string(), z.number()).refine((o) => Object.keys(o).length === 0, unsupported('logit_bias is not supported')).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  // accepted and ignored, as they change nothing here
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullish(),
  store: z.boolean().nullish(),
  service_tier: z.string().nullish(),
};

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const completionRequest = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1), tokenIds, z.array(tokenIds).length(1)], {
    error: 'prompt must be a string, a list of one string, or token ids (a list of integers); one prompt per request',
  }),
  echo: z.literal(false, unsupported('echo is not supported')).nullish(),
  suffix: z.null(unsupported('suffix is not supported')).optional(),
  best_of: z.literal(1, unsupported('only best_of = 1 is supported')).nullish(),
  logprobs: z.null(unsupported('logprobs are not supported yet')).optional(),
}).strict();

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart)], {
    error: 'content must be a string or a list of {"type": "text", "text": "..."} parts (images and audio are not supported)',
  }).nullish(),
  reasoning_content: z.string().nullish(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
});

export const chatRequest = z.object({
  ...common,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.literal(false, unsupported('logprobs are not supported yet')).nullish(),
  top_logprobs: z.null(unsupported('top_logprobs are not supported yet')).optional(),
  tools: z.array(z.unknown()).max(0, unsupported('tools are not supported')).nullish(),
  tool_choice: z.literal('none', unsupported('tool_choice is not supported (no tools)')).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.object({ type: z.literal('text', unsupported('only response_format {"type": "text"} is supported')) }).nullish(),
  chat_template_kwargs: z.object({ enable_thinking: z.boolean().optional() }).catchall(z.unknown()).nullish(),
}).strict();

export type CompletionRequest = z.infer<typeof completionRequest>;
export type ChatRequest = z.infer<typeof chatRequest>;

function paramOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** The body as the schema's type, or a 400 naming the first field at fault. */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'The request body must be a JSON object.', null, 'invalid_request_body');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = paramOf([...issue.path, issue.keys[0]!]);
    return fail(`Unrecognized request argument supplied: ${key}. Remove it (see the Serving section of the Bankai README for the fields this server accepts).`, key, 'unknown_parameter');
  }
  const param = paramOf(issue.path);
  const got = valueAt(body, issue.path);
  if (got === undefined && issue.code !== 'custom') return fail(`${param} is required.`, param, 'missing_required_parameter');
  const shown = JSON.stringify(got);
  return fail(`${param}: ${issue.message}${shown !== undefined && shown.length <= 80 ? ` (got ${shown})` : ''}.`, param, 'invalid_value');
}

function fail(message: string, param: string, code: string): never {
  throw new ApiError(400, message, param || null, code);
}
