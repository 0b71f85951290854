// The serve app's fetch handler in process on Node, Deno and Bun (no socket: a web-standard
// Request in, a Response out) on the shipped tiny model: prints one JSON object with a greedy and
// a seeded sampled completion, a streamed chat reply and an error, for the runtimes to agree on.
import process from 'node:process';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { createServeApp, PatchLibrary } from '@bankai/serve';
import { modelPath } from '@bankai/tiny-model';

const src = await fileSource(modelPath);
const model = await Model.load(src, { maxContext: 64 });
await src.close();
const modelSha256 = await sha256File(modelPath);
const app = createServeApp({ model, modelSha256, library: new PatchLibrary(model, { modelSha256 }) });
const post = async (path, body) => {
  const r = await app.fetch(new Request(`http://bankai.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
  return { status: r.status, body: await r.text() };
};
const strip = (s) => s.replace(/"id":"[^"]+"|"created":\d+/g, '');
const out = {
  greedy: JSON.parse((await post('/v1/completions', { model: 'base', prompt: 'Q: what is 23*7? A:', max_tokens: 12, stop: '\n' })).body).choices[0].text,
  sampled: JSON.parse((await post('/v1/completions', { model: 'base', prompt: 'Q: what is 23*7? A:', max_tokens: 24, temperature: 1.2, top_p: 0.9, seed: 5 })).body).choices[0].text,
  chatStream: strip((await post('/v1/chat/completions', { model: 'base', messages: [{ role: 'user', content: 'Q: is 7 prime? A:' }], max_tokens: 8, stream: true })).body),
  error: await post('/v1/completions', { model: 'nope', prompt: 'x' }),
};
await app.close();
process.stdout.write(JSON.stringify(out) + '\n');
