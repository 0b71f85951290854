// `bankai serve`: one model, a folder of patches, an OpenAI-compatible HTTP API on loopback.
// The server is @bankai/serve/node's startServer; this file parses flags and prints.

import { startServer, type RunningServer } from '@bankai/serve/node';
import { CliError, positiveInt, requireFlag } from './args.js';
import type { Command } from './shared.js';

function describe(server: RunningServer): string[] {
  const list = server.app.models();
  const base = list.data[0]!;
  const patches = list.data.slice(1);
  const lines = [
    `bankai serve: listening on ${server.url}`,
    `  base      ${String(base.bankai.name ?? 'model')} (sha256 ${server.modelSha256.slice(0, 16)}…, context ${String(base.bankai.context)} tokens)`,
    `  patches   ${patches.length === 0 ? 'none' : patches.map((p) => `${p.id} (${String(p.bankai.flips)} flips${p.bankai.signed ? ', signed' : ''})`).join(', ')}`,
  ];
  for (const r of list.refused) lines.push(`  refused   ${r.file}: ${r.reason}`);
  for (const w of server.warnings) lines.push(`warning: ${w}`);
  lines.push(`  try       curl ${server.url}/v1/completions -H 'content-type: application/json' -d '{"model": "base", "prompt": "Q: what is 2+3? A:", "max_tokens": 8}'`);
  return lines;
}

export const serve: Command = {
  summary: 'serve a model and a folder of patches over an OpenAI-compatible HTTP API (patches hot-swapped per request)',
  usage: 'bankai serve --model FILE [--patches DIR] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--ctx N] [--trusted-key HEX]...',
  flags: {
    model: { type: 'string', value: 'FILE', help: 'the GGUF model (Q1_0 1-bit Qwen3)' },
    patches: { type: 'string', value: 'DIR', help: 'folder of patch files (.json, .bkp); each is served as the model named by its file stem' },
    host: { type: 'string', value: 'ADDR', help: 'address to listen on (loopback by default; anything else should have --api-key)', default: '127.0.0.1' },
    port: { type: 'number', value: 'N', help: 'port (0: any free port)', default: 8080 },
    'api-key': { type: 'string', value: 'KEY', help: 'require Authorization: Bearer KEY on every route but /health (default: $BANKAI_API_KEY, else none)' },
    ctx: { type: 'number', value: 'N', help: 'context (KV-cache) tokens per request (default: min(2048, the model\'s))' },
    'trusted-key': { type: 'list', value: 'HEX', help: 'accept signatures by this ed25519 public key only (repeatable; default: any valid signature)' },
    'require-signature': { type: 'boolean', help: 'refuse unsigned patches' },
    watch: { type: 'boolean', help: 'pick up patch files added, changed or removed while running (--no-watch: only on POST /v1/patches/reload)', default: true },
    temperature: { type: 'number', value: 'T', help: 'temperature of requests that give none (0: greedy; OpenAI\'s default is 1)', default: 0 },
    thinking: { type: 'boolean', help: 'enable_thinking of chat requests that give none (--no-thinking: Qwen3\'s empty think block); default: the template\'s' },
    'max-queue': { type: 'number', value: 'N', help: 'most requests waiting for the engine; more get 429', default: 256 },
    quiet: { type: 'boolean', help: 'no log line per request on stderr' },
  },
  details: 'Routes: POST /v1/completions, POST /v1/chat/completions (OpenAI shapes; "stream": true for server-sent events; ' +
    '"model": "base" or a patch name), GET /v1/models (with refused patches and why), POST /v1/patches/reload, GET /health, ' +
    'GET /metrics (Prometheus text; ?format=json). Stop with Ctrl-C.',
  async run(flags, out) {
    const model = requireFlag('serve', flags, 'model');
    const apiKey = (flags['api-key'] as string | undefined) ?? process.env.BANKAI_API_KEY;
    const temperature = flags.temperature as number;
    if (!(temperature >= 0 && temperature <= 2)) throw new CliError(`bankai serve: --temperature must be in 0..2, got ${temperature}.`);
    const maxQueue = positiveInt('serve', flags, 'max-queue');
    const quiet = flags.quiet === true;
    const server = await startServer({
      model,
      patches: flags.patches as string | undefined,
      host: flags.host as string,
      port: flags.port as number,
      apiKey: apiKey === '' ? undefined : apiKey,
      maxContext: flags.ctx as number | undefined,
      trustedKeys: flags['trusted-key'] as string[] | undefined,
      requireSignature: flags['require-signature'] === true,
      watch: flags.watch as boolean,
      maxQueue,
      defaults: { temperature, ...(flags.thinking !== undefined ? { enableThinking: flags.thinking as boolean } : {}) },
      hooks: quiet ? {} : {
        onRequest: (r) => process.stderr.write(`${r.route} model=${r.model} prompt=${r.promptTokens} completion=${r.completionTokens} ${r.finishReason} ${r.millis.toFixed(1)}ms\n`),
      },
      onReload: (change, cause) => {
        if (cause === 'start' || quiet) return;
        const parts = [['added', change.added], ['changed', change.changed], ['removed', change.removed]].filter(([, ids]) => ids!.length > 0).map(([k, ids]) => `${k as string} ${(ids as string[]).join(', ')}`);
        process.stderr.write(`patches reloaded (${cause}): ${parts.join('; ') || 'no change'}${change.refused.length ? `; ${change.refused.length} refused` : ''}\n`);
      },
    });
    for (const line of describe(server)) out(line);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    out('bankai serve: stopped');
  },
};
