// The `bankai` commands: each is a spec (flags, help) and a run function. Files and processes
// stay here, at the edge; the packages below take ByteSources and engine handles.

import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GGML_TYPE, ggmlTypeInfo, readGguf, type GgufFile } from '@bankai/gguf';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { logSoftmaxRows, readModelConfig } from '@bankai/model';
import { presetOptions, PRESETS, validateQwen3Options, type PresetName, type WeightFormat } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import { CliError, GGUF_FILE, positiveInt, requireFlag, requireInputFile } from './args.js';
import { demo } from './demo.js';
import { experiments, report } from './experiment-commands.js';
import { audit, evaluate, probesFresh } from './probe-commands.js';
import { patchCommands } from './patch-commands.js';
import { search, stackCompare } from './search-commands.js';
import { serve } from './serve-command.js';
import { jsonFlag, modelFlag, openModel, type Command } from './shared.js';

export { openModel, sha256File, type Command };

const statIsDir = (path: string): boolean => statSync(path).isDirectory();

// ---- info --------------------------------------------------------------------------------------

export function describeModel(header: GgufFile) {
  const c = readModelConfig(header);
  const types: Record<string, { tensors: number; params: number }> = {};
  let params = 0;
  let oneBit = 0;
  for (const t of header.tensors) {
    const name = ggmlTypeInfo(t.type)?.name ?? String(t.type);
    types[name] ??= { tensors: 0, params: 0 };
    types[name].tensors++;
    types[name].params += t.nElements;
    params += t.nElements;
    if (t.type === GGML_TYPE.Q1_0) oneBit += t.nElements;
  }
  return { config: c, tensorTypes: types, parameters: params, oneBitParameters: oneBit, tensors: header.tensors.length };
}

const info: Command = {
  summary: 'describe a model: architecture, shapes, tensor types, parameter and 1-bit counts, sha256',
  usage: 'bankai info --model FILE [--json] [--tensors]',
  flags: {
    model: modelFlag,
    json: jsonFlag,
    tensors: { type: 'boolean', help: 'also list every tensor with its type and shape' },
  },
  async run(flags, out) {
    const path = requireInputFile('info', flags, 'model', GGUF_FILE);
    const src = await fileSource(path);
    let header: GgufFile;
    try {
      header = await readGguf(src);
    } finally {
      await src.close();
    }
    const d = describeModel(header);
    const sha256 = await sha256File(path);
    const name = header.has('general.name') ? String(header.get('general.name').value) : undefined;
    const result = { file: resolve(path), name, sizeBytes: header.fileSize, sha256, ggufVersion: header.version, ...d };
    if (flags.json) {
      out(JSON.stringify({ ...result, tensorList: flags.tensors ? header.tensors.map((t) => ({ name: t.name, type: t.typeName, shape: t.shape })) : undefined }, null, 2));
      return;
    }
    const c = d.config;
    out(`${result.file}${name ? `  (${name})` : ''}`);
    out(`  size          ${(header.fileSize / 2 ** 20).toFixed(2)} MiB, GGUF v${header.version}, sha256 ${sha256}`);
    out(`  architecture  ${c.architecture}: ${c.nLayer} layers, n_embd ${c.nEmbd}, n_ff ${c.nFf}, heads ${c.nHead}/${c.nHeadKv} (GQA ${c.nHead / c.nHeadKv}), head_dim ${c.headDim}`);
    out(`  vocab         ${c.vocabSize}, context ${c.contextLength}, rope base ${c.ropeFreqBase}, rms eps ${Number(c.rmsEps.toPrecision(6))}, ${c.tiedOutput ? 'tied output' : 'untied output'}`);
    out(`  parameters    ${d.parameters.toLocaleString('en-US')} (${d.oneBitParameters.toLocaleString('en-US')} 1-bit, ${((100 * d.oneBitParameters) / d.parameters).toFixed(2)}%)`);
    for (const [t, v] of Object.entries(d.tensorTypes)) {
      out(`  ${t.padEnd(13)} ${v.tensors} tensors, ${v.params.toLocaleString('en-US')} weights`);
    }
    if (flags.tensors) for (const t of header.tensors) out(`    ${t.name.padEnd(28)} ${t.typeName.padEnd(5)} [${t.shape.join(', ')}]`);
  },
};

// ---- generate ----------------------------------------------------------------------------------

const generate: Command = {
  summary: 'greedy generation from a prompt',
  usage: 'bankai generate --model FILE --prompt TEXT [--max-tokens N] [--no-stop-at-newline] [--json]',
  flags: {
    model: modelFlag,
    prompt: { type: 'string', value: 'TEXT', help: 'the prompt text (tokenized with the model\'s own tokenizer)' },
    'max-tokens': { type: 'number', value: 'N', help: 'most tokens to generate', default: 64 },
    'stop-at-newline': { type: 'boolean', help: 'stop at the first newline (probe answers are one line)', default: true },
    json: jsonFlag,
  },
  async run(flags, out) {
    const prompt = requireFlag('generate', flags, 'prompt');
    const maxTokens = positiveInt('generate', flags, 'max-tokens');
    const model = await openModel(requireFlag('generate', flags, 'model'));
    const t0 = performance.now();
    const g = model.generate(prompt, { maxTokens, stopAtNewline: flags['stop-at-newline'] as boolean });
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) out(JSON.stringify({ prompt, text: g.text, tokens: g.tokens, seconds }));
    else {
      out(prompt + g.text);
      process.stderr.write(`(${g.tokens.length} tokens in ${seconds.toFixed(2)} s)\n`);
    }
  },
};

// ---- logprobs ----------------------------------------------------------------------------------

const logprobs: Command = {
  summary: 'teacher-forced log-probabilities: the full log-softmax over the vocabulary after each token',
  usage: 'bankai logprobs --model FILE (--tokens 1,2,3 | --text "...") [--json]',
  flags: {
    model: modelFlag,
    tokens: { type: 'string', value: 'IDS', help: 'comma-separated token ids' },
    text: { type: 'string', value: 'TEXT', help: 'text to tokenize with the model\'s tokenizer (instead of --tokens)' },
    json: { type: 'boolean', help: 'print {"tokens": [...], "logprobs": [[...], ...]}: logprobs[i] is the natural-log softmax over the vocabulary after token i' },
  },
  async run(flags, out) {
    if ((flags.tokens === undefined) === (flags.text === undefined)) {
      throw new CliError('bankai logprobs: pass exactly one of --tokens 1,2,3 or --text "...".');
    }
    const model = await openModel(requireFlag('logprobs', flags, 'model'));
    let tokens: number[];
    if (typeof flags.tokens === 'string') {
      tokens = flags.tokens.split(',').map((s, i) => {
        const n = Number(s.trim());
        if (s.trim() === '' || !Number.isInteger(n) || n < 0 || n >= model.config.vocabSize) {
          throw new CliError(`bankai logprobs: --tokens item ${i} ("${s}") is not a token id in 0..${model.config.vocabSize - 1}.`);
        }
        return n;
      });
    } else tokens = model.encode(flags.text as string);
    if (tokens.length === 0) throw new CliError('bankai logprobs: no tokens to score.');
    if (tokens.length > model.runner.layout.maxContext) {
      throw new CliError(`bankai logprobs: ${tokens.length} tokens exceed the context of ${model.runner.layout.maxContext}.`);
    }
    const V = model.config.vocabSize;
    const lp = logSoftmaxRows(model.runner.forward(tokens, 0).slice(), V);
    model.runner.rewind(0);
    if (flags.json) {
      // streamed row by row: a 151,936-entry row is ~1.5 MB of text
      out(`{"tokens": [${tokens.join(',')}], "logprobs": [`);
      for (let i = 0; i < tokens.length; i++) {
        const row = lp.subarray(i * V, (i + 1) * V);
        const parts = new Array<string>(V);
        for (let j = 0; j < V; j++) parts[j] = formatF32(row[j]!);
        out(`[${parts.join(',')}]${i + 1 < tokens.length ? ',' : ''}`);
      }
      out(']}');
      return;
    }
    out('pos  token      text                 logprob(next)   top next');
    for (let i = 0; i < tokens.length; i++) {
      const row = lp.subarray(i * V, (i + 1) * V);
      let top = 0;
      for (let j = 1; j < V; j++) if (row[j]! > row[top]!) top = j;
      const next = i + 1 < tokens.length ? row[tokens[i + 1]!]!.toFixed(4) : '';
      out(`${String(i).padEnd(4)} ${String(tokens[i]).padEnd(10)} ${JSON.stringify(model.decode([tokens[i]!])).padEnd(20)} ${next.padStart(13)}   ${JSON.stringify(model.decode([top]))} (${row[top]!.toFixed(3)})`);
    }
  },
};

/** Shortest decimal that reads back as the same float32. */
function formatF32(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '1e999' : '-1e999';
  for (let p = 6; p < 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

// ---- tokenize ----------------------------------------------------------------------------------

const tokenize: Command = {
  summary: 'tokenize text with the model\'s byte-level BPE tokenizer',
  usage: 'bankai tokenize --model FILE --text TEXT [--json]',
  flags: { model: modelFlag, text: { type: 'string', value: 'TEXT', help: 'the text' }, json: jsonFlag },
  async run(flags, out) {
    const text = requireFlag('tokenize', flags, 'text');
    const model = await openModel(requireFlag('tokenize', flags, 'model'), { maxContext: 1 });
    const ids = model.encode(text);
    if (flags.json) out(JSON.stringify({ tokens: ids, pieces: ids.map((id) => model.decode([id])) }));
    else out(ids.map((id) => `${id}:${JSON.stringify(model.decode([id]))}`).join(' '));
  },
};

// ---- gen-model ---------------------------------------------------------------------------------

const genModel: Command = {
  summary: 'write a Qwen3 GGUF with random 1-bit weights (test and benchmark models)',
  usage: 'bankai gen-model --preset NAME --out FILE [--weights q1_0|f32|f16] [--seed N] [--layers N] [--vocab N] [--tied] [--overwrite] [--json]',
  flags: {
    preset: { type: 'string', value: 'NAME', help: `shape preset: ${Object.keys(PRESETS).join(', ')}`, default: 'small' },
    out: { type: 'string', value: 'FILE', help: 'output GGUF path (written to a temp file, then renamed)' },
    weights: { type: 'string', value: 'FORMAT', help: 'q1_0 (1-bit), or f32 / f16 holding the same +-d values', default: 'q1_0' },
    seed: { type: 'number', value: 'N', help: 'random seed', default: 1 },
    layers: { type: 'number', value: 'N', help: 'override the number of layers' },
    vocab: { type: 'number', value: 'N', help: 'override the vocabulary size' },
    tied: { type: 'boolean', help: 'tie the output head to token_embd (override the preset)' },
    overwrite: { type: 'boolean', help: 'replace an existing --out file' },
    json: jsonFlag,
  },
  async run(flags, out) {
    const preset = flags.preset as string;
    if (!(preset in PRESETS)) throw new CliError(`bankai gen-model: unknown --preset "${preset}"; choose one of ${Object.keys(PRESETS).join(', ')}.`);
    const weights = flags.weights as string;
    if (!['q1_0', 'f32', 'f16'].includes(weights)) throw new CliError(`bankai gen-model: --weights must be q1_0, f32 or f16, got "${weights}".`);
    const dest = requireFlag('gen-model', flags, 'out');
    if (existsSync(dest) && !statIsDir(dest) && flags.overwrite !== true) throw new CliError(`bankai gen-model: ${dest} exists; pass --overwrite to replace it.`);
    const o = presetOptions(preset as PresetName, {
      seed: flags.seed as number,
      weights: weights as WeightFormat,
      ...(flags.layers !== undefined ? { nLayer: positiveInt('gen-model', flags, 'layers') } : {}),
      ...(flags.vocab !== undefined ? { vocab: positiveInt('gen-model', flags, 'vocab') } : {}),
      ...(flags.tied !== undefined ? { tied: flags.tied as boolean } : {}),
    });
    try {
      validateQwen3Options(o); // model-gen's option checks are RangeErrors: here they are bad flags
    } catch (e) {
      if (e instanceof RangeError) throw new CliError(`bankai gen-model: ${e.message}.`);
      throw e;
    }
    mkdirSync(dirname(resolve(dest)), { recursive: true });
    const r = await writeQwen3File(dest, o);
    if (flags.json) {
      out(JSON.stringify({
        out: dest, bytes: r.bytesWritten, preset, weights: o.weights, seed: o.seed,
        layers: o.nLayer, nEmbd: o.nEmbd, nFf: o.nFf, heads: o.nHead, kvHeads: o.nHeadKv, headDim: o.headDim, vocab: o.vocab, tied: o.tied,
        tensors: r.tensors.length,
      }, null, 2));
      return;
    }
    out(`wrote ${dest} (${(r.bytesWritten / 2 ** 20).toFixed(2)} MiB): ${preset}, ${o.weights}, ${o.nLayer} layers, seed ${o.seed}`);
  },
};


export const commands: Record<string, Command> = {
  demo,
  info,
  generate,
  logprobs,
  tokenize,
  'gen-model': genModel,
  audit,
  eval: evaluate,
  'probes-fresh': probesFresh,
  ...patchCommands,
  search,
  stack: stackCompare,
  serve,
  experiments,
  report,
};
