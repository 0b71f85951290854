#!/usr/bin/env node
// llama.cpp reference runner: node-llama-cpp 3.21.1 with its prebuilt CPU binary, run in a
// child process by client.ts (a malformed model aborts the whole process, so never in-process).
// Never downloads or compiles anything: getLlama({ build: 'never', skipDownload: true }).
//
// Request: one JSON object on stdin (or as argv[2]):
//   { op: 'info' | 'tokenize' | 'detokenize' | 'logprobs' | 'generate', modelPath, threads?, logLevel?, ...op fields }
//   tokenize: { texts: string[], parseSpecial?: boolean }
//   detokenize: { seqs: number[][], renderSpecial?: boolean }
//   logprobs: { seqs: number[][], outFile }  -> float32 LE file, see below
//   generate: { prompts: number[][], maxTokens, stopAtNewline?: boolean }  (one generation a prompt)
// Response: one JSON line on stdout: { ok: true, result } or { ok: false, error }.
//
// Settings for every evaluation: CPU only, no GPU layers, flash attention off, F32 K and V cache
// (F16 adds ~2e-3 log-prob error), one batch per sequence (batchSize >= sequence length), every
// position's full next-token distribution.
import { closeSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function readRequest() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function loadLlama(threads, logLevel) {
  let mod;
  try {
    mod = await import('node-llama-cpp');
  } catch (err) {
    throw new Error(
      `cannot import node-llama-cpp (${err.message}); it is a dependency of test/package.json: run \`flock /tmp/pnpm.lock npx pnpm install\` at the repo root`,
    );
  }
  const { getLlama, LlamaLogLevel } = mod;
  try {
    const llama = await getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      maxThreads: threads,
      logLevel: LlamaLogLevel[logLevel ?? 'warn'],
      logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}${message.endsWith('\n') ? '' : '\n'}`),
    });
    return { llama, mod };
  } catch (err) {
    throw new Error(
      `node-llama-cpp could not load its prebuilt CPU binary (@node-llama-cpp/linux-x64@3.21.1): ${err.message}. ` +
        'Install it with `flock /tmp/pnpm.lock npx pnpm install`; this harness never downloads or builds llama.cpp.',
    );
  }
}

/**
 * node-llama-cpp's own GGUF reader spins for minutes on a file with a garbage version field, so
 * check the 8-byte header first: magic "GGUF", version 2 or 3.
 */
function checkGgufHeader(path) {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(8);
  let n;
  try {
    n = readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  const magic = head.subarray(0, 4).toString('latin1');
  const version = n >= 8 ? head.readUInt32LE(4) : -1;
  if (n < 8 || magic !== 'GGUF' || (version !== 2 && version !== 3)) {
    throw new Error(
      `${path} is not a GGUF v2/v3 file (bytes 0..7: magic ${JSON.stringify(magic)}, version ${version}); regenerate or re-download it`,
    );
  }
}

function checkTokens(tokens, nVocab, what) {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!(Number.isInteger(t) && t >= 0 && t < nVocab)) {
      throw new Error(`${what}[${i}] = ${t} is not a token id of this model (0..${nVocab - 1})`);
    }
  }
}

async function main() {
  const req = await readRequest();
  const threads = req.threads ?? 1;
  const { llama, mod } = await loadLlama(threads, req.logLevel);
  checkGgufHeader(req.modelPath);
  // tokenize needs only the vocabulary: vocabOnly skips the tensors
  const vocabOnly = req.op === 'tokenize' || req.op === 'detokenize';
  const model = await llama.loadModel({ modelPath: req.modelPath, gpuLayers: 0, useMmap: true, vocabOnly });
  const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;

  if (req.op === 'info') {
    const pkg = JSON.parse(readFileSync(new URL('../node_modules/node-llama-cpp/package.json', import.meta.url), 'utf8'));
    return {
      nVocab,
      bos: model.tokens.bos,
      eos: model.tokens.eos,
      eot: model.tokens.eot,
      nl: model.tokens.nl,
      architecture: model.fileInfo.metadata?.general?.architecture,
      typeDescription: model.typeDescription,
      trainContextSize: model.trainContextSize,
      embeddingVectorSize: model.embeddingVectorSize,
      nodeLlamaCppVersion: pkg.version,
      llamaCppRelease: llama.llamaCppRelease,
      buildType: llama.buildType,
      gpu: llama.gpu,
      systemInfo: llama.systemInfo,
    };
  }

  if (req.op === 'tokenize') {
    // LlamaModel.tokenize -> llama_tokenize(add_special = false, parse_special = parseSpecial)
    return req.texts.map((text) => Array.from(model.tokenize(text, req.parseSpecial === true)));
  }

  if (req.op === 'detokenize') {
    // LlamaModel.detokenize -> llama_detokenize(remove_special = false, unparse_special = renderSpecial);
    // the UTF-8 result reaches JS through N-API (invalid sequences become U+FFFD there)
    return req.seqs.map((seq, s) => {
      checkTokens(seq, nVocab, `seqs[${s}]`);
      return model.detokenize(seq, req.renderSpecial === true);
    });
  }

  const longest =
    req.op === 'logprobs'
      ? Math.max(1, ...req.seqs.map((s) => s.length))
      : req.op === 'bench'
        ? Math.max(1, ...req.seqs.map((s) => s.length), req.promptTokens.length + req.decodeTokens)
        : Math.max(1, ...req.prompts.map((p) => p.length)) + req.maxTokens;
  // At least 256 positions, in multiples of 256: node-llama-cpp leaves a context smaller than the
  // model's trained context unpadded, and llama.cpp then computes wrong logits (measured: 5.2 in
  // log-prob on a model trained at 256 asked for 8 positions). Unused positions cost nothing here.
  const context = await model.createContext({
    contextSize: Math.max(256, Math.ceil(longest / 256) * 256),
    batchSize: longest, // one decode per sequence: no ubatch splits
    sequences: 1,
    threads,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  const sequence = context.getSequence();

  if (req.op === 'logprobs') {
    // node-llama-cpp gives, per position, a Map token -> probability: llama.cpp's raw float32
    // logits (the greedy sampler chain leaves the full candidate list untouched) turned into a
    // float32 softmax in the addon: p = expf(l - max) / sum, with `sum` accumulated in float32
    // over the whole vocabulary (a shared relative error of ~1e-5 at 151936 tokens). We undo
    // that: ln p_i - ln(sum_j p_j) with the sum and logs in float64, which is ln softmax(logits)
    // to ~1e-7 plus float32 rounding of (l - max). Only p below ~1e-37 (log-prob < ~-85) loses
    // precision to float32 subnormals, and p == 0 becomes -Infinity.
    // File layout: for each sequence in order, (positions, nVocab) float32 little-endian.
    const tmp = `${req.outFile}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      const row = new Float32Array(nVocab); // (nVocab) log-probs after one position
      for (let s = 0; s < req.seqs.length; s++) {
        const seq = req.seqs[s];
        checkTokens(seq, nVocab, `seqs[${s}]`);
        await sequence.clearHistory();
        const out = await sequence.controlledEvaluate(
          seq.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 0 } } }]),
        );
        for (let i = 0; i < seq.length; i++) {
          const probs = out[i]?.next?.probabilities;
          if (!probs || probs.size !== nVocab) {
            throw new Error(`seqs[${s}] position ${i}: llama.cpp returned ${probs?.size ?? 0} probabilities, expected ${nVocab}`);
          }
          let total = 0; // float64
          for (const p of probs.values()) total += p;
          const logTotal = Math.log(total);
          row.fill(-Infinity);
          for (const [token, p] of probs) row[token] = Math.log(p) - logTotal;
          writeSync(fd, new Uint8Array(row.buffer));
        }
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, req.outFile);
    return { nVocab, lengths: req.seqs.map((s) => s.length) };
  }

  if (req.op === 'generate') {
    // Greedy: the argmax of llama.cpp's logits (ties to the lowest id), one token at a time, for
    // each prompt from an empty cache (one model load for many prompts: the load is most of a
    // short generation's time). Stops after maxTokens, after an end-of-generation token
    // (included), or, with stopAtNewline, after the first token whose text contains "\n" (included).
    const all = [];
    for (let p = 0; p < req.prompts.length; p++) {
      const prompt = req.prompts[p];
      checkTokens(prompt, nVocab, `prompts[${p}]`);
      if (prompt.length === 0) throw new Error(`prompts[${p}] is empty: llama.cpp needs at least one token to predict from`);
      await sequence.clearHistory();
      const generated = [];
      let input = prompt.map((t) => t);
      while (generated.length < req.maxTokens) {
        const items = input.map((t, i) =>
          i === input.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 } } }] : t,
        );
        const out = await sequence.controlledEvaluate(items);
        const next = out[input.length - 1]?.next?.token;
        if (next == null) throw new Error(`prompts[${p}]: llama.cpp produced no token after ${generated.length} generated tokens`);
        generated.push(next);
        if (model.isEogToken(next)) break;
        if (req.stopAtNewline && model.detokenize([next], true).includes('\n')) break;
        input = [next];
      }
      all.push(generated);
    }
    return all;
  }

  if (req.op === 'bench') {
    // Timings only (bench/, never tests). Scoring: each sequence in one batch from an empty cache
    // with logits at every position (an argmax is sampled at each, so the output head runs for
    // every position, as scoring needs; no 151,936-entry probability maps are built in JS).
    // Decode: the prompt in one batch, then decodeTokens single-token steps, timed alone.
    const greedy = { generateNext: { token: true, options: { temperature: 0 } } };
    for (const seq of req.seqs) checkTokens(seq, nVocab, 'seqs');
    checkTokens(req.promptTokens, nVocab, 'promptTokens');
    const t0 = performance.now();
    for (const seq of req.seqs) {
      await sequence.clearHistory();
      await sequence.controlledEvaluate(seq.map((t) => [t, greedy]));
    }
    const scoreSeconds = (performance.now() - t0) / 1000;
    await sequence.clearHistory();
    const first = await sequence.controlledEvaluate(req.promptTokens.map((t, i) => (i === req.promptTokens.length - 1 ? [t, greedy] : t)));
    let next = first[req.promptTokens.length - 1]?.next?.token;
    const t1 = performance.now();
    for (let i = 0; i < req.decodeTokens; i++) {
      const out = await sequence.controlledEvaluate([[next, greedy]]);
      next = out[0]?.next?.token;
    }
    const decodeSeconds = (performance.now() - t1) / 1000;
    return { scoreSeconds, scoredTokens: req.seqs.reduce((a, s) => a + s.length, 0), decodeSeconds, decodeTokens: req.decodeTokens };
  }

  throw new Error(`unknown op ${JSON.stringify(req.op)}: expected info, tokenize, logprobs, generate or bench`);
  void mod;
}

main().then(
  (result) => {
    reply({ ok: true, result });
    process.exit(0);
  },
  (err) => {
    reply({ ok: false, error: err?.message ?? String(err) });
    process.exit(2);
  },
);
