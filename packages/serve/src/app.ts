// The HTTP app: OpenAI's /v1/completions and /v1/chat/completions (JSON or server-sent events),
// /v1/models, /health, /metrics and POST /v1/patches/reload, over one loaded model whose patches
// are swapped in per request by the scheduler. A web-standard fetch handler (Hono): Node serves
// it through node.ts, Deno and Bun can serve `app.fetch` directly.

import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import {
  checkSamplingOptions, ContextLengthError, promptOpensThinking, StopMatcher, streamText, ThinkingSplitter,
  type ChatMessage, type Model, type TextGeneration, type TextGenerationOptions, type TextPiece,
} from '@bankai/model';
import { sha256Hex } from '@bankai/patch-format';
import { ApiError, toApiError } from './errors.js';
import { formatPrometheus, ServeMetrics, type MetricsSnapshot } from './metrics.js';
import { BASE_MODEL_ID, type LibraryChange, type PatchLibrary, type ServedPatch } from './patches.js';
import { AbortedWhileQueued, EngineScheduler } from './scheduler.js';
import { chatRequest, completionRequest, parseRequest, type ChatRequest, type CompletionRequest } from './schemas.js';

export interface ServeDefaults {
  /** Temperature when a request gives none (default 0: greedy, deterministic; OpenAI's is 1). */
  temperature?: number;
  /** enable_thinking when a chat request gives none (default: the template's own default). */
  enableThinking?: boolean;
  /** max_tokens of a completion request that gives none (default 16, as OpenAI; chat: the rest of the context). */
  completionMaxTokens?: number;
}

export interface PieceEvent {
  requestId: string;
  model: string;
  text: string;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

export interface RequestRecord {
  requestId: string;
  route: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
  /** From arrival to the last token (queueing included). */
  millis: number;
  clientGone: boolean;
}

export interface ServeHooks {
  /** Each piece of generated text, on the engine's turn: generation waits for a returned promise
   *  (instrumentation: logging, pacing, tests). */
  onPiece?(e: PieceEvent): void | Promise<void>;
  /** One record per finished generation request. */
  onRequest?(r: RequestRecord): void;
}

export interface ServeAppOptions {
  model: Model;
  /** sha256 of the model file: patches must name it, and it identifies the weights in replies. */
  modelSha256: string;
  library: PatchLibrary;
  /** Require `Authorization: Bearer <apiKey>` on every route but /health. */
  apiKey?: string;
  /** Rescans the patch folder (POST /v1/patches/reload); absent: the route answers 400. */
  reload?: () => Promise<LibraryChange>;
  defaults?: ServeDefaults;
  maxQueue?: number;
  maxConsecutive?: number;
  /** Largest request body (default 4 MiB). */
  maxBodyBytes?: number;
  hooks?: ServeHooks;
}

export interface ModelListEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'bankai';
  parent?: string;
  bankai: Record<string, unknown>;
}

export interface ModelList {
  object: 'list';
  data: ModelListEntry[];
  /** Patch files that were refused, with the reason. */
  refused: { id: string; file: string; reason: string }[];
}

export interface ServeApp {
  /** The web-standard handler. */
  fetch(request: Request): Promise<Response>;
  readonly hono: Hono;
  readonly metrics: ServeMetrics;
  readonly scheduler: EngineScheduler;
  readonly library: PatchLibrary;
  /** What GET /v1/models answers. */
  models(): ModelList;
  /** What GET /metrics?format=json answers. */
  metricsSnapshot(): MetricsSnapshot;
  /** Refuses new requests, lets the running one finish and reverts the applied patch. */
  close(): Promise<void>;
}

const ROUTES = new Set(['/health', '/metrics', '/v1/models', '/v1/completions', '/v1/chat/completions', '/v1/patches/reload']);

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };

function randomId(): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares a presented key with the configured one without an early exit on the first mismatch. */
function sameKey(a: string, b: string): boolean {
  const x = sha256Hex(new TextEncoder().encode(a));
  const y = sha256Hex(new TextEncoder().encode(b));
  let d = 0;
  for (let i = 0; i < x.length; i++) d |= x.charCodeAt(i) ^ y.charCodeAt(i);
  return d === 0;
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `The request body is not valid JSON (${(e as Error).message}). Send a JSON object with Content-Type: application/json.`, null, 'invalid_json');
  }
}

/** Everything a generation needs, checked before it queues (so errors are 4xx, never mid-stream). */
interface Job {
  requestId: string;
  route: string;
  modelId: string;
  patch: ServedPatch | null;
  promptIds: number[];
  opts: TextGenerationOptions;
  stream: boolean;
  includeUsage: boolean;
  arrived: number;
}

export function createServeApp(o: ServeAppOptions): ServeApp {
  const { model, library } = o;
  const metrics = new ServeMetrics();
  const scheduler = new EngineScheduler(model, {
    modelSha256: o.modelSha256, maxQueue: o.maxQueue, maxConsecutive: o.maxConsecutive, onSwap: (s) => metrics.swap(s),
  });
  const maxContext = model.runner.layout.maxContext;
  const loadedAt = Math.floor(Date.now() / 1000);
  const baseName = model.header.has('general.name') ? String(model.header.get('general.name').value) : undefined;
  const app = new Hono();

  const models = (): ModelList => ({
    object: 'list',
    data: [
      { id: BASE_MODEL_ID, object: 'model', created: loadedAt, owned_by: 'bankai', bankai: { kind: 'base', name: baseName, sha256: o.modelSha256, context: maxContext } },
      ...library.list().map((p): ModelListEntry => ({
        id: p.id, object: 'model', created: p.loadedAt, owned_by: 'bankai', parent: BASE_MODEL_ID,
        bankai: { kind: 'patch', file: p.file, flips: p.flips, sha256: p.sha256, signed: p.signed, ...(p.signer ? { signer: p.signer } : {}) },
      })),
    ],
    refused: library.refused().map((r) => ({ ...r })),
  });
  const metricsSnapshot = () => metrics.snapshot(
    { waiting: scheduler.stats().queued, busy: scheduler.stats().busy, applied: scheduler.appliedKey },
    { served: library.list().length, refused: library.refused().length },
  );

  // ---- middleware: errors as OpenAI JSON, request counts, body limit, API key ----------------------

  app.onError((e, c) => {
    const err = toApiError(e);
    return c.json(err.body(), err.status as 400);
  });
  app.notFound((c) => {
    const err = new ApiError(404, `Unknown route ${c.req.method} ${c.req.path}. Routes: GET /health, GET /metrics, GET /v1/models, POST /v1/completions, POST /v1/chat/completions, POST /v1/patches/reload.`, null, 'unknown_route');
    return c.json(err.body(), 404);
  });
  app.use('*', async (c, next) => {
    await next();
    // the route's pattern (a request refused before routing, e.g. 401, by its path when it is a route)
    const pattern = c.req.routePath !== '/*' ? c.req.routePath : ROUTES.has(c.req.path) ? c.req.path : c.req.path.startsWith('/v1/models/') ? '/v1/models/:id' : undefined;
    metrics.request(pattern ? `${c.req.method} ${pattern}` : 'unmatched', c.res.status);
  });
  app.use('*', bodyLimit({
    maxSize: o.maxBodyBytes ?? 4 << 20,
    onError: (c) => c.json(new ApiError(413, `The request body is larger than ${o.maxBodyBytes ?? 4 << 20} bytes.`, null, 'request_too_large').body(), 413),
  }));
  if (o.apiKey !== undefined) {
    const key = o.apiKey;
    app.use('*', async (c, next) => {
      if (c.req.path === '/health') return next();
      const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
      if (!m) throw new ApiError(401, 'Missing API key: send the header Authorization: Bearer <key> (the key bankai serve was started with).', null, 'missing_api_key');
      if (!sameKey(m[1]!.trim(), key)) throw new ApiError(401, 'Invalid API key: send the key bankai serve was started with (--api-key).', null, 'invalid_api_key');
      await next();
    });
  }

  // ---- model selection and prompts ------------------------------------------------------------------

  function resolveModel(id: string): ServedPatch | null {
    if (id === BASE_MODEL_ID) return null;
    const p = library.get(id);
    if (p) return p;
    const refused = library.refusal(id);
    if (refused) throw new ApiError(404, `The model '${id}' is not served: its patch file ${refused.file} was refused (${refused.reason}).`, 'model', 'model_not_found');
    const known = [BASE_MODEL_ID, ...library.list().map((p) => p.id)].join(', ');
    throw new ApiError(404, `The model '${id}' does not exist. Models: ${known} (GET /v1/models lists them).`, 'model', 'model_not_found');
  }

  function checkPromptIds(ids: number[], param: string): number[] {
    const V = model.config.vocabSize;
    const bad = ids.findIndex((t) => t >= V);
    if (bad >= 0) throw new ApiError(400, `${param}[${bad}]: token id ${ids[bad]} is outside the vocabulary (0..${V - 1}).`, `${param}[${bad}]`, 'invalid_value');
    if (ids.length === 0) throw new ApiError(400, `${param} has no tokens: send a non-empty prompt.`, param, 'invalid_value');
    if (ids.length > maxContext) throw toApiError(new ContextLengthError(ids.length, maxContext), param);
    return ids;
  }

  function options(req: CompletionRequest | ChatRequest, maxTokens: number | null | undefined, fallbackMax: number): TextGenerationOptions {
    const opts: TextGenerationOptions = {
      maxTokens: maxTokens ?? fallbackMax,
      temperature: req.temperature ?? o.defaults?.temperature ?? 0,
      ...(req.top_k != null ? { topK: req.top_k } : {}),
      ...(req.top_p != null ? { topP: req.top_p } : {}),
      ...(req.min_p != null ? { minP: req.min_p } : {}),
      ...(req.repetition_penalty != null ? { repetitionPenalty: req.repetition_penalty } : {}),
      ...(req.seed != null ? { seed: req.seed } : {}),
      ...(req.stop != null ? { stop: req.stop } : {}),
    };
    // the library's own checks, before the request queues (a stream's errors must come before its 200)
    checkSamplingOptions(opts);
    new StopMatcher(typeof opts.stop === 'string' ? [opts.stop] : [...(opts.stop ?? [])]);
    return opts;
  }

  function fingerprint(patch: ServedPatch | null): string {
    return `bankai-${o.modelSha256.slice(0, 12)}${patch ? `-${patch.sha256.slice(0, 12)}` : ''}`;
  }

  // ---- running a generation ---------------------------------------------------------------------------

  /** Queues the job, runs it with its patch, streams its pieces to `onPiece`; returns the generation. */
  async function generate(job: Job, signal: AbortSignal, onPiece: (p: TextPiece) => void): Promise<TextGeneration> {
    const record = (g: Partial<TextGeneration>, clientGone: boolean) => o.hooks?.onRequest?.({
      requestId: job.requestId, route: job.route, model: job.modelId, promptTokens: job.promptIds.length,
      completionTokens: g.tokens?.length ?? 0, finishReason: clientGone ? 'client_gone' : g.finishReason ?? 'error',
      millis: performance.now() - job.arrived, clientGone,
    });
    try {
      const g = await scheduler.run(job.patch, signal, async () => {
        const t0 = performance.now();
        const gen = streamText(model, job.promptIds, { ...job.opts, signal });
        let done: TextGeneration | undefined;
        try {
          for (;;) {
            const r = await gen.next();
            if (r.done) return (done = r.value);
            onPiece(r.value);
            await o.hooks?.onPiece?.({ requestId: job.requestId, model: job.modelId, text: r.value.text, signal });
          }
        } finally {
          if (!done) await gen.return(undefined as never);
          metrics.generation(job.promptIds.length, done?.tokens.length ?? 0, (performance.now() - t0) / 1000);
        }
      });
      if (g.finishReason === 'abort') metrics.clientGone();
      record(g, g.finishReason === 'abort');
      return g;
    } catch (e) {
      if (e instanceof AbortedWhileQueued) metrics.clientGone();
      record({}, e instanceof AbortedWhileQueued);
      throw e;
    }
  }

  /** A server-sent-event response: `run` sends events until it returns; errors become an error event. */
  function sse(c: Context, run: (send: (data: unknown) => void, signal: AbortSignal) => Promise<void>): Response {
    const enc = new TextEncoder();
    const ac = new AbortController();
    const reqSignal = c.req.raw.signal;
    if (reqSignal.aborted) ac.abort();
    else reqSignal.addEventListener('abort', () => ac.abort(), { once: true });
    let open = true;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (data: unknown) => {
          if (open && !ac.signal.aborted) controller.enqueue(enc.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`));
        };
        run(send, ac.signal)
          .then(() => send('[DONE]'))
          .catch((e) => {
            if (!(e instanceof AbortedWhileQueued)) send(toApiError(e).body());
          })
          .finally(() => {
            if (open) {
              open = false;
              try {
                controller.close();
              } catch {
                // already cancelled by the reader
              }
            }
          });
      },
      cancel() {
        open = false;
        ac.abort();
      },
    });
    return new Response(body, { status: 200, headers: SSE_HEADERS });
  }

  const usage = (promptTokens: number, completion: number) => ({ prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion });
  const finish = (g: TextGeneration) => (g.finishReason === 'length' ? 'length' : 'stop');

  // ---- routes ------------------------------------------------------------------------------------------

  app.get('/health', (c) => c.json({ status: 'ok', model: baseName ?? BASE_MODEL_ID, patches: library.list().length, refused: library.refused().length, queue: scheduler.stats() }));

  app.get('/metrics', (c) => {
    const snap = metricsSnapshot();
    if (c.req.query('format') === 'json') return c.json(snap);
    return c.text(formatPrometheus(snap), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.get('/v1/models', (c) => c.json(models()));
  app.get('/v1/models/:id', (c) => {
    const entry = models().data.find((m) => m.id === c.req.param('id'));
    if (!entry) resolveModel(c.req.param('id')); // throws the 404 naming the reason
    return c.json(entry!);
  });

  app.post('/v1/patches/reload', async (c) => {
    if (!o.reload) throw new ApiError(400, 'This server has no patch folder to reload (start bankai serve with --patches DIR).', null, 'no_patch_folder');
    const change = await o.reload();
    return c.json(change);
  });

  app.post('/v1/completions', async (c) => {
    const req = parseRequest(completionRequest, await readJson(c));
    const patch = resolveModel(req.model);
    const p = req.prompt;
    const promptIds = checkPromptIds(
      typeof p === 'string' ? model.encode(p) : typeof p[0] === 'string' ? model.encode(p[0]) : Array.isArray(p[0]) ? [...p[0]] : [...(p as number[])],
      'prompt',
    );
    const job: Job = {
      requestId: `cmpl-${randomId()}`, route: 'completions', modelId: req.model, patch, promptIds,
      opts: options(req, req.max_tokens, o.defaults?.completionMaxTokens ?? 16),
      stream: req.stream === true, includeUsage: req.stream_options?.include_usage === true, arrived: performance.now(),
    };
    scheduler.checkRoom();
    const created = Math.floor(Date.now() / 1000);
    const head = { id: job.requestId, object: 'text_completion', created, model: req.model, system_fingerprint: fingerprint(patch) };
    if (job.stream) {
      return sse(c, async (send, signal) => {
        const g = await generate(job, signal, (piece) => send({ ...head, choices: [{ index: 0, text: piece.text, logprobs: null, finish_reason: null }] }));
        send({ ...head, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish(g) }] });
        if (job.includeUsage) send({ ...head, choices: [], usage: usage(g.promptTokens, g.tokens.length) });
      });
    }
    const g = await generate(job, c.req.raw.signal, () => {});
    return c.json({ ...head, choices: [{ index: 0, text: g.text, logprobs: null, finish_reason: finish(g) }], usage: usage(g.promptTokens, g.tokens.length) });
  });

  app.post('/v1/chat/completions', async (c) => {
    const req = parseRequest(chatRequest, await readJson(c));
    const patch = resolveModel(req.model);
    const messages: ChatMessage[] = req.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((part) => part.text).join(''),
      ...(m.reasoning_content != null ? { reasoningContent: m.reasoning_content } : {}),
    }));
    const { enable_thinking: enableThinking, ...variables } = req.chat_template_kwargs ?? {};
    const prompt = model.chatTemplate.render(messages, { enableThinking: enableThinking ?? o.defaults?.enableThinking, variables });
    const promptIds = checkPromptIds(model.tokenizer.encode(prompt, { parseSpecial: true }), 'messages');
    const job: Job = {
      requestId: `chatcmpl-${randomId()}`, route: 'chat.completions', modelId: req.model, patch, promptIds,
      opts: options(req, req.max_completion_tokens ?? req.max_tokens, maxContext - promptIds.length + 1),
      stream: req.stream === true, includeUsage: req.stream_options?.include_usage === true, arrived: performance.now(),
    };
    scheduler.checkRoom();
    const startsInside = promptOpensThinking(prompt);
    const created = Math.floor(Date.now() / 1000);
    const head = { id: job.requestId, object: 'chat.completion.chunk', created, model: req.model, system_fingerprint: fingerprint(patch) };
    if (job.stream) {
      return sse(c, async (send, signal) => {
        const split = new ThinkingSplitter({ startsInside });
        const delta = (d: Record<string, string>) => send({ ...head, choices: [{ index: 0, delta: d, logprobs: null, finish_reason: null }] });
        const emit = (t: { reasoning: string; content: string }) => {
          if (t.reasoning) delta({ reasoning_content: t.reasoning });
          if (t.content) delta({ content: t.content });
        };
        let first = true;
        const g = await generate(job, signal, (piece) => {
          if (first) delta({ role: 'assistant', content: '' });
          first = false;
          emit(split.push(piece.text));
        });
        if (first) delta({ role: 'assistant', content: '' });
        emit(split.end());
        send({ ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish(g) }] });
        if (job.includeUsage) send({ ...head, choices: [], usage: usage(g.promptTokens, g.tokens.length) });
      });
    }
    const g = await generate(job, c.req.raw.signal, () => {});
    const split = new ThinkingSplitter({ startsInside });
    const a = split.push(g.text);
    const b = split.end();
    const reasoning = a.reasoning + b.reasoning;
    const message = { role: 'assistant', content: a.content + b.content, ...(reasoning ? { reasoning_content: reasoning } : {}) };
    return c.json({
      ...head, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: finish(g) }], usage: usage(g.promptTokens, g.tokens.length),
    });
  });

  return {
    fetch: (request) => Promise.resolve(app.fetch(request)),
    hono: app, metrics, scheduler, library, models, metricsSnapshot,
    close: () => scheduler.close(),
  };
}
