// The HTTP app in process (app.fetch, no sockets) on the shipped tiny model with two patches:
// every greedy answer equals Model.generate with that patch applied by applyPatch, alone or
// among interleaved requests for other patches; sampling follows the seed; errors are 4xx JSON.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateText, type Model } from '@bankai/model';
import { createManifest, generateSigningKey, type PatchManifest } from '@bankai/patch-format';
import { patchFileBytes } from '@bankai/patch-format/node';
import { answersWith, changingPatches, loadTiny, PROMPTS, randomRowPatch, signManifest } from '../testing/fixtures.js';
import { createServeApp, type ServeAppOptions, type ServeApp } from './app.js';
import { PatchLibrary, type PatchFile } from './patches.js';

let model: Model; // the server's
let ref: Model; // references: Model.generate + applyPatch on another instance
let sha256: string;
let patchA: PatchManifest;
let patchB: PatchManifest;
let files: PatchFile[];
const want = new Map<string, string[]>(); // model id -> greedy answers to PROMPTS

function json(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

const open: ServeApp[] = [];
afterEach(async () => {
  for (const app of open.splice(0)) await app.close(); // the model is the base model again
});

function makeApp(opts: Partial<ServeAppOptions> = {}, patchFiles = files): ServeApp {
  const library = new PatchLibrary(model, { modelSha256: sha256 });
  library.sync(patchFiles);
  const app = createServeApp({ model, modelSha256: sha256, library, ...opts });
  open.push(app);
  return app;
}

const post = async (app: ServeApp, path: string, body: unknown, init: RequestInit = {}) => {
  const r = await app.fetch(new Request(`http://bankai.test${path}`, { ...json(body), ...init }));
  return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
};

/** The data events of an SSE body, parsed ("[DONE]" kept as is). */
function events(text: string): unknown[] {
  return text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => (e === 'data: [DONE]' ? '[DONE]' : JSON.parse(e.slice(6))));
}

beforeAll(async () => {
  ({ model, sha256 } = await loadTiny());
  ref = (await loadTiny()).model;
  [patchA, patchB] = changingPatches(ref, sha256, 2);
  const wrongBase = createManifest({ provenance: { tool: 'bankai-test' }, flips: patchA!.flips, base: { ...patchA!.base, sha256: '0'.repeat(64) } });
  const signed = signManifest(patchB!, generateSigningKey().secretKey);
  const tampered = { ...signed, flips: signed.flips.slice(1) };
  files = [
    { name: 'math.json', bytes: patchFileBytes(patchA!, 'manifest') },
    { name: 'logic.bkp', bytes: patchFileBytes(signed, 'binary') },
    { name: 'wrong-base.json', bytes: patchFileBytes(wrongBase, 'manifest') },
    { name: 'tampered.json', bytes: patchFileBytes(tampered, 'manifest') },
    { name: 'twice.json', bytes: patchFileBytes(patchA!, 'manifest') },
    { name: 'twice.bkp', bytes: patchFileBytes(patchA!, 'binary') },
    { name: 'base.json', bytes: patchFileBytes(patchA!, 'manifest') },
    { name: 'notes.txt', bytes: new TextEncoder().encode('not a patch') },
    { name: 'broken.json', bytes: new TextEncoder().encode('{"flips": 3') },
  ];
  want.set('base', answersWith(ref, sha256, null));
  want.set('math', answersWith(ref, sha256, patchA!));
  want.set('logic', answersWith(ref, sha256, patchB!));
});

const complete = (app: ServeApp, modelId: string, prompt: string, extra: Record<string, unknown> = {}) =>
  post(app, '/v1/completions', { model: modelId, prompt, max_tokens: 12, stop: '\n', temperature: 0, ...extra });

describe('serving greedy completions', () => {
  it('base and each patch answer exactly as Model.generate with applyPatch, and the patches change answers', async () => {
    const app = makeApp();
    for (const id of ['base', 'math', 'logic', 'base', 'logic']) {
      for (const [i, prompt] of PROMPTS.entries()) {
        const r = await complete(app, id, prompt);
        expect(r.status).toBe(200);
        expect({ id, prompt, text: r.body.choices[0].text }).toEqual({ id, prompt, text: want.get(id)![i] });
        expect(r.body.model).toBe(id);
      }
    }
    const differ = (a: string[], b: string[]) => a.filter((x, i) => x !== b[i]).length;
    expect(differ(want.get('math')!, want.get('base')!)).toBeGreaterThanOrEqual(3);
    expect(differ(want.get('logic')!, want.get('base')!)).toBeGreaterThanOrEqual(3);
    const m = app.metricsSnapshot();
    expect(m.swaps.count).toBe(4); // base -> math -> logic -> base -> logic
    expect(m.tokens.completion).toBeGreaterThan(0);
  });

  it('counts the tokens Model.generate generates, and streams the same text', async () => {
    const app = makeApp();
    for (const prompt of PROMPTS.slice(0, 4)) {
      const g = ref.generate(prompt, { maxTokens: 12 });
      const r = await complete(app, 'base', prompt);
      expect(r.body.usage).toEqual({ prompt_tokens: ref.encode(prompt).length, completion_tokens: g.tokens.length, total_tokens: ref.encode(prompt).length + g.tokens.length });
      const s = await complete(app, 'base', prompt, { stream: true, stream_options: { include_usage: true } });
      expect(s.status).toBe(200);
      const ev = events(s.body) as any[];
      expect(ev.at(-1)).toBe('[DONE]');
      const chunks = ev.slice(0, -1);
      expect(chunks.filter((c) => c.choices.length).map((c) => c.choices[0].text).join('')).toBe(g.text);
      expect(chunks.at(-2).choices[0].finish_reason).toBe(r.body.choices[0].finish_reason);
      expect(chunks.at(-1).usage).toEqual(r.body.usage);
    }
  });

  it('interleaved requests for base and two patches never mix: each equals the request served alone, and they are grouped by patch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const app = makeApp({
      hooks: {
        // the first request holds the engine until every other request is queued
        onPiece: async () => {
          if (first) {
            first = false;
            await gate;
          }
        },
      },
    });
    const ids = ['base', 'math', 'logic'];
    const jobs = Array.from({ length: 30 }, (_, k) => ({ id: ids[k % 3]!, i: (k * 5) % PROMPTS.length, stream: k % 4 === 1 }));
    const replies = jobs.map((j) => complete(app, j.id, PROMPTS[j.i]!, j.stream ? { stream: true } : {}));
    while (app.scheduler.stats().queued < jobs.length - 1) await new Promise((r) => setTimeout(r, 1));
    release();
    const got = await Promise.all(replies);
    for (const [k, j] of jobs.entries()) {
      const text = j.stream ? (events(got[k]!.body) as any[]).slice(0, -1).map((c) => c.choices[0].text).join('') : got[k]!.body.choices[0].text;
      expect({ k, ...j, text }).toEqual({ k, ...j, text: want.get(j.id)![j.i] });
    }
    // base first (it held the engine), then the rest of base, then each patch's group once
    expect(app.metricsSnapshot().swaps.count).toBe(2);
  });
});

describe('sampling', () => {
  it('a seed gives the same completion (the library\'s generateText); other seeds others', async () => {
    const app = makeApp();
    const params = { temperature: 1.3, top_k: 50, top_p: 0.95, min_p: 0.01, repetition_penalty: 1.1, max_tokens: 24, stop: null };
    const a = await complete(app, 'math', 'Q: what is 12+7? A:', { ...params, seed: 42 });
    const b = await complete(app, 'math', 'Q: what is 12+7? A:', { ...params, seed: 42 });
    expect(b.body.choices[0].text).toBe(a.body.choices[0].text);
    const others = await Promise.all([1, 2, 3].map((seed) => complete(app, 'math', 'Q: what is 12+7? A:', { ...params, seed })));
    expect(others.some((o) => o.body.choices[0].text !== a.body.choices[0].text)).toBe(true);
    // the library, with the patch applied by hand
    const { applyPatch } = await import('@bankai/model');
    const applied = applyPatch(ref, patchA, { sha256 });
    try {
      const lib = generateText(ref, 'Q: what is 12+7? A:', { temperature: 1.3, topK: 50, topP: 0.95, minP: 0.01, repetitionPenalty: 1.1, maxTokens: 24, seed: 42 });
      expect(a.body.choices[0].text).toBe(lib.text);
    } finally {
      applied.revert();
    }
  });
});

describe('chat completions', () => {
  it('renders the model\'s chat template (ChatML here) and answers as the library does, streamed or not', async () => {
    const app = makeApp();
    const messages = [{ role: 'system', content: 'You answer math.' }, { role: 'user', content: 'Q: what is 23*7? A:' }];
    const r = await post(app, '/v1/chat/completions', { model: 'logic', messages, max_tokens: 10, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.body.object).toBe('chat.completion');
    const prompt = ref.chatTemplate.render(messages as never);
    expect(prompt).toBe('<|im_start|>system\nYou answer math.<|im_end|>\n<|im_start|>user\nQ: what is 23*7? A:<|im_end|>\n<|im_start|>assistant\n');
    const { applyPatch } = await import('@bankai/model');
    const applied = applyPatch(ref, patchB, { sha256 });
    let lib;
    try {
      lib = generateText(ref, ref.tokenizer.encode(prompt, { parseSpecial: true }), { maxTokens: 10 });
    } finally {
      applied.revert();
    }
    expect(r.body.choices[0].message).toEqual({ role: 'assistant', content: lib.text });
    expect(r.body.usage.prompt_tokens).toBe(lib.promptTokens);
    const s = await post(app, '/v1/chat/completions', { model: 'logic', messages, max_tokens: 10, temperature: 0, stream: true });
    const ev = (events(s.body) as any[]).slice(0, -1);
    expect(ev[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(ev.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(lib.text);
    expect(ev.at(-1).choices[0].finish_reason).toBe(r.body.choices[0].finish_reason);
    // enable_thinking = false: the prompt gets the empty think block (and so other tokens)
    const t = await post(app, '/v1/chat/completions', { model: 'base', messages, max_tokens: 4, chat_template_kwargs: { enable_thinking: false } });
    expect(t.body.usage.prompt_tokens).toBe(ref.tokenizer.encode(prompt + '<think>\n\n</think>\n\n', { parseSpecial: true }).length);
  });
});

describe('models and patches', () => {
  it('lists base and each patch by file stem, and the refused files with their reasons', async () => {
    const app = makeApp();
    const r = await app.fetch(new Request('http://bankai.test/v1/models'));
    const list = await r.json();
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(['base', 'logic', 'math']);
    expect(list.data[1].bankai).toMatchObject({ kind: 'patch', file: 'logic.bkp', signed: true, flips: patchB.flips.length });
    const reasons = Object.fromEntries(list.refused.map((x: { id: string; reason: string }) => [x.id, x.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['base', 'broken', 'tampered', 'twice', 'wrong-base']);
    expect(reasons['wrong-base']).toMatch(/base\.sha256 is 0{64} but the model file's sha256 is/);
    expect(reasons.tampered).toMatch(/signature.*changed after it was signed/);
    expect(reasons.twice).toMatch(/2 files have the stem "twice"/);
    expect(reasons.base).toMatch(/names the unpatched model/);
    const refusedUse = await complete(app, 'tampered', 'Q:');
    expect(refusedUse.status).toBe(404);
    expect(refusedUse.body.error.message).toMatch(/tampered\.json was refused \(signature/);
    const one = await app.fetch(new Request('http://bankai.test/v1/models/math'));
    expect((await one.json()).id).toBe('math');
  });

  it('POST /v1/patches/reload picks up a new patch and drops a removed one', async () => {
    const library = new PatchLibrary(model, { modelSha256: sha256 });
    let folder = files.slice(0, 1);
    library.sync(folder);
    const app = createServeApp({ model, modelSha256: sha256, library, reload: async () => library.sync(folder) });
    open.push(app);
    expect((await complete(app, 'logic', 'Q:')).status).toBe(404);
    folder = [...files.slice(0, 2), { name: 'fresh.json', bytes: patchFileBytes(randomRowPatch(ref, sha256, 500), 'manifest') }];
    const change = await post(app, '/v1/patches/reload', {});
    expect(change.body).toMatchObject({ added: ['logic', 'fresh'], removed: [], changed: [] });
    const r = await complete(app, 'logic', PROMPTS[0]!);
    expect(r.body.choices[0].text).toBe(want.get('logic')![0]);
    folder = files.slice(1, 2);
    expect((await post(app, '/v1/patches/reload', {})).body).toMatchObject({ removed: ['math', 'fresh'] });
    expect((await complete(app, 'math', 'Q:')).status).toBe(404);
    expect(app.metricsSnapshot().patches.served).toBe(1);
  });
});

describe('one server per model', () => {
  it('close() lets the running request finish, refuses new ones and leaves the base model', async () => {
    const app = makeApp();
    expect(() => createServeApp({ model, modelSha256: sha256, library: new PatchLibrary(model, { modelSha256: sha256 }) })).toThrow(/already served/);
    expect((await complete(app, 'math', PROMPTS[0]!)).body.choices[0].text).toBe(want.get('math')![0]);
    expect(app.scheduler.appliedKey).toMatch(/^math@/);
    await app.close();
    expect(PROMPTS.map((p) => model.generate(p, { maxTokens: 12 }).text)).toEqual(want.get('base'));
    const late = await complete(app, 'base', PROMPTS[0]!);
    expect(late.status).toBe(503);
    expect(late.body.error.code).toBe('shutting_down');
  });
});

describe('bad requests', () => {
  it('each class gets its 4xx with an OpenAI error naming the field', async () => {
    const app = makeApp();
    const ok = { model: 'base', prompt: 'Q: what is 1+1? A:' };
    const cases: [string, unknown, number, string | null, RegExp][] = [
      ['/v1/completions', { ...ok, model: 'nope' }, 404, 'model', /'nope' does not exist. Models: base, logic, math/],
      ['/v1/completions', { prompt: 'x' }, 400, 'model', /model is required/],
      ['/v1/completions', { model: 'base' }, 400, 'prompt', /prompt is required/],
      ['/v1/completions', { ...ok, temperature: 3 }, 400, 'temperature', /temperature.*<=2/],
      ['/v1/completions', { ...ok, temperature: 'hot' }, 400, 'temperature', /expected number/],
      ['/v1/completions', { ...ok, top_p: 0 }, 400, 'top_p', /top_p/],
      ['/v1/completions', { ...ok, top_k: -1 }, 400, 'top_k', /top_k/],
      ['/v1/completions', { ...ok, min_p: 2 }, 400, 'min_p', /min_p/],
      ['/v1/completions', { ...ok, max_tokens: 0 }, 400, 'max_tokens', /max_tokens/],
      ['/v1/completions', { ...ok, seed: 1.5 }, 400, 'seed', /seed/],
      ['/v1/completions', { ...ok, n: 2 }, 400, 'n', /only n = 1/],
      ['/v1/completions', { ...ok, stop: [''] }, 400, 'stop[0]', /must not be empty/],
      ['/v1/completions', { ...ok, frequency_penalty: 0.5 }, 400, 'frequency_penalty', /repetition_penalty/],
      ['/v1/completions', { ...ok, max_token: 5 }, 400, 'max_token', /Unrecognized request argument supplied: max_token/],
      ['/v1/completions', { ...ok, prompt: 'Q: what is 1+1? A:'.repeat(20) }, 400, 'prompt', /context is 64 tokens, but the prompt has \d+/],
      ['/v1/completions', { ...ok, prompt: [1, 2, 99999] }, 400, 'prompt[2]', /outside the vocabulary/],
      ['/v1/completions', { ...ok, prompt: ['a', 'b'] }, 400, 'prompt', /one prompt per request/],
      ['/v1/completions', { ...ok, prompt: '' }, 400, 'prompt', /no tokens/],
      ['/v1/completions', '{"model": "base", ', 400, null, /not valid JSON/],
      ['/v1/completions', [1, 2], 400, null, /must be a JSON object/],
      ['/v1/chat/completions', { model: 'base', messages: [] }, 400, 'messages', /messages/],
      ['/v1/chat/completions', { model: 'base', messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages[0].role', /expected one of/],
      ['/v1/chat/completions', { model: 'base', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 400, 'messages[0].content', /images and audio are not supported/],
      ['/v1/chat/completions', { model: 'base', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function' }] }, 400, 'tools', /tools are not supported/],
      ['/v1/chat/completions', { model: 'base', messages: [{ role: 'user', content: 'x '.repeat(100) }] }, 400, 'messages', /context is 64 tokens/],
      ['/v1/chat/completions', { model: 'base', messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { enable_thinking: 'no' } }, 400, 'chat_template_kwargs.enable_thinking', /boolean/],
      ['/v1/nothing', ok, 404, null, /Unknown route POST \/v1\/nothing/],
    ];
    for (const [path, body, status, param, message] of cases) {
      const r = await post(app, path, body);
      expect({ path, body, status: r.status, param: r.body.error?.param, type: typeof r.body.error?.type }).toEqual({ path, body, status, param, type: 'string' });
      expect(r.body.error.message).toMatch(message);
    }
    const big = await post(app, '/v1/completions', { ...ok, prompt: 'x'.repeat(5 << 20) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('request_too_large');
    // none of it broke the server
    expect((await complete(app, 'base', PROMPTS[0]!)).body.choices[0].text).toBe(want.get('base')![0]);
  });

  it('requires the API key when one is set (but not for /health)', async () => {
    const app = makeApp({ apiKey: 'sesame' });
    const call = (auth?: string) => app.fetch(new Request('http://bankai.test/v1/models', { headers: auth ? { authorization: auth } : {} }));
    const none = await call();
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('missing_api_key');
    expect((await call('Bearer open')).status).toBe(401);
    expect((await call('sesame')).status).toBe(401);
    expect((await call('Bearer sesame')).status).toBe(200);
    expect((await post(app, '/v1/completions', { model: 'base', prompt: 'Q:' })).status).toBe(401);
    expect((await app.fetch(new Request('http://bankai.test/health'))).status).toBe(200);
  });
});

describe('clients that go away', () => {
  it('a client that disconnects mid-stream frees the engine at the next token', async () => {
    const client = new AbortController();
    let pieces = 0;
    const records: { finishReason: string; completionTokens: number }[] = [];
    const app = makeApp({
      hooks: {
        onRequest: (r) => records.push(r),
        onPiece: async ({ signal }) => {
          if (++pieces === 1) {
            client.abort(); // the client hangs up after the first piece ...
            if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true })); // ... and the server sees it
          }
        },
      },
    });
    const r = await app.fetch(new Request('http://bankai.test/v1/completions', {
      ...json({ model: 'math', prompt: 'Q:', max_tokens: 50, stream: true, temperature: 1, seed: 3 }), signal: client.signal,
    }));
    expect(r.status).toBe(200);
    await r.body!.cancel().catch(() => {});
    while (app.scheduler.stats().busy) await new Promise((res) => setTimeout(res, 1));
    expect(pieces).toBe(1); // no token after the hang-up
    const m = app.metricsSnapshot();
    expect(m.requests.clientsGone).toBe(1);
    expect(m.tokens.completion).toBeLessThan(50);
    expect(records).toEqual([expect.objectContaining({ finishReason: 'client_gone', completionTokens: m.tokens.completion })]);
    // the slot is free: the next request is served at once
    expect((await complete(app, 'base', PROMPTS[1]!)).body.choices[0].text).toBe(want.get('base')![1]);
  });

  it('a client that disconnects while queued leaves the queue and never runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const app = makeApp({
      hooks: {
        onPiece: async ({ model }) => {
          seen.push(model);
          if (seen.length === 1) await gate;
        },
      },
    });
    const holder = complete(app, 'base', PROMPTS[0]!);
    while (!app.scheduler.stats().busy) await new Promise((r) => setTimeout(r, 1));
    const client = new AbortController();
    const waiting = app.fetch(new Request('http://bankai.test/v1/completions', { ...json({ model: 'logic', prompt: 'Q:', max_tokens: 5 }), signal: client.signal }));
    while (app.scheduler.stats().queued < 1) await new Promise((r) => setTimeout(r, 1));
    client.abort();
    const gone = await waiting;
    expect(gone.status).toBe(499);
    expect(app.scheduler.stats().queued).toBe(0);
    release();
    expect((await holder).body.choices[0].text).toBe(want.get('base')![0]);
    expect(seen.includes('logic')).toBe(false);
    expect(app.metricsSnapshot().swaps.count).toBe(0); // the patch was never applied
  });
});
