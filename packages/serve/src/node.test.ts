// A real server (startServer: the model file, a patch folder, a port on loopback) driven by the
// official `openai` npm client: completions and chat, streamed and not, base and two patches,
// each answer equal to the library's; a patch file dropped into the folder is picked up by the
// watcher; a client that hangs up mid-stream frees the engine; the API key is enforced.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatch, generateText, type Model } from '@bankai/model';
import type { PatchManifest } from '@bankai/patch-format';
import { writePatchFile } from '@bankai/patch-format/node';
import { answersWith, changingPatches, loadTiny, PROMPTS, randomRowPatch, tempDir, TINY, writePatches } from '../testing/fixtures.js';
import type { PieceEvent } from './app.js';
import type { LibraryChange } from './patches.js';
import { startServer, type RunningServer } from './node.js';

let ref: Model;
let sha256: string;
let patches: Record<string, PatchManifest>;
let dir: string;
let server: RunningServer;
let client: OpenAI;
let onPiece: ((e: PieceEvent) => void | Promise<void>) | undefined;
const reloads: { change: LibraryChange; cause: string }[] = [];

beforeAll(async () => {
  ({ model: ref, sha256 } = await loadTiny());
  const [a, b] = changingPatches(ref, sha256, 2);
  patches = { math: a!, logic: b! };
  dir = tempDir('bankai-serve-');
  await writePatches(dir, { 'math.json': a!, 'logic.bkp': b! });
  server = await startServer({
    model: TINY, patches: dir, port: 0,
    hooks: { onPiece: (e) => onPiece?.(e) },
    onReload: (change, cause) => reloads.push({ change, cause }),
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The library's answer: generateText with the patch applied by hand (chat: the ChatML prompt). */
function library(id: string, prompt: string | number[], maxTokens: number, stop?: string): string {
  const applied = id === 'base' ? undefined : applyPatch(ref, patches[id]!, { sha256 });
  try {
    return generateText(ref, prompt, { maxTokens, ...(stop ? { stop } : {}) }).text;
  } finally {
    applied?.revert();
  }
}

const chatPrompt = (content: string) => ref.tokenizer.encode(ref.chatTemplate.render([{ role: 'user', content }]), { parseSpecial: true });

describe('bankai serve with the openai client', () => {
  it('listens on loopback and lists base and the two patches', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.warnings).toEqual([]);
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['base', 'logic', 'math']);
  });

  it('completions and chat, streamed and not, base and two patches: the library\'s answers', async () => {
    for (const id of ['base', 'math', 'logic']) {
      const want = answersWith(ref, sha256, id === 'base' ? null : patches[id]!);
      for (const [i, prompt] of PROMPTS.slice(0, 4).entries()) {
        const c = await client.completions.create({ model: id, prompt, max_tokens: 12, stop: '\n', temperature: 0 });
        expect({ id, prompt, text: c.choices[0]!.text }).toEqual({ id, prompt, text: want[i] });
        let streamed = '';
        for await (const chunk of await client.completions.create({ model: id, prompt, max_tokens: 12, stop: '\n', temperature: 0, stream: true })) {
          streamed += chunk.choices[0]?.text ?? '';
        }
        expect(streamed).toBe(want[i]);

        const chatWant = library(id, chatPrompt(prompt), 10);
        const chat = await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: prompt }], max_tokens: 10, temperature: 0 });
        expect(chat.choices[0]!.message.content).toBe(chatWant);
        let chatStreamed = '';
        for await (const chunk of await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: prompt }], max_tokens: 10, temperature: 0, stream: true })) {
          chatStreamed += chunk.choices[0]?.delta.content ?? '';
        }
        expect(chatStreamed).toBe(chatWant);
      }
    }
  });

  it('errors arrive as the client\'s typed errors, with the field', async () => {
    const notFound = await client.completions.create({ model: 'nope', prompt: 'Q:' }).catch((e) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    const bad = await client.completions.create({ model: 'base', prompt: 'Q:', temperature: 5 }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe('temperature');
    const long = await client.chat.completions.create({ model: 'base', messages: [{ role: 'user', content: 'Q: '.repeat(80) }] }).catch((e) => e);
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect(long.code).toBe('context_length_exceeded');
  });

  it('a patch file dropped into the folder is picked up by the watcher', async () => {
    const fresh = randomRowPatch(ref, sha256, 901);
    const seen = reloads.length;
    await writePatchFile(join(dir, 'fresh.json'), fresh);
    while (!reloads.slice(seen).some((r) => r.cause === 'watch' && r.change.added.includes('fresh'))) await new Promise((r) => setTimeout(r, 20));
    patches.fresh = fresh;
    const c = await client.completions.create({ model: 'fresh', prompt: PROMPTS[2]!, max_tokens: 12, stop: '\n', temperature: 0 });
    expect(c.choices[0]!.text).toBe(library('fresh', PROMPTS[2]!, 12, '\n'));
  });

  it('a client that hangs up mid-stream frees the engine', async () => {
    const hangUp = new AbortController();
    let pieces = 0;
    onPiece = async ({ signal }) => {
      if (++pieces > 1) return;
      hangUp.abort();
      if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    };
    const before = server.app.metricsSnapshot();
    try {
      const res = await fetch(`${server.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, signal: hangUp.signal,
        body: JSON.stringify({ model: 'math', prompt: 'Q:', max_tokens: 50, temperature: 1, seed: 1, stop: null }),
      }).catch((e) => e);
      expect(res).toBeInstanceOf(Error); // the fetch was aborted
      while (server.app.scheduler.stats().busy) await new Promise((r) => setTimeout(r, 5));
    } finally {
      onPiece = undefined;
    }
    expect(pieces).toBe(1);
    const after = server.app.metricsSnapshot();
    expect(after.requests.clientsGone - before.requests.clientsGone).toBe(1);
    expect(after.tokens.completion - before.tokens.completion).toBeLessThan(50);
    const next = await client.completions.create({ model: 'base', prompt: PROMPTS[0]!, max_tokens: 12, stop: '\n', temperature: 0 });
    expect(next.choices[0]!.text).toBe(answersWith(ref, sha256, null)[0]);
  });

  it('requires the API key it was started with', async () => {
    const locked = await startServer({ model: TINY, port: 0, apiKey: 'sesame' });
    try {
      const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'guess', maxRetries: 0 });
      expect(await wrong.models.list().catch((e) => e)).toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sesame', maxRetries: 0 });
      const c = await right.completions.create({ model: 'base', prompt: PROMPTS[1]!, max_tokens: 12, stop: '\n', temperature: 0 });
      expect(c.choices[0]!.text).toBe(answersWith(ref, sha256, null)[1]);
      expect((await fetch(`${locked.url}/health`)).status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('serves /metrics in the Prometheus text format, with swaps and tokens', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^bankai_${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('patch_swaps_total')).toBeGreaterThan(2);
    expect(value('completion_tokens_total')).toBeGreaterThan(0);
    expect(value('tokens_per_second')).toBeGreaterThan(0);
    expect(text).toMatch(/^bankai_requests_total\{route="POST \/v1\/completions",status="200"\} \d+$/m);
  });
});
