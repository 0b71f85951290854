// Client for the llama.cpp reference runner (runner.mjs): each call starts one child process for
// one model file, sends one JSON request and reads one JSON reply (log-probs come back through a
// temporary binary file). A crash or abort inside llama.cpp fails that call with the model path
// and the tail of llama.cpp's stderr, never the test process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('./runner.mjs', import.meta.url));

export interface LlamaRunOptions {
  /** CPU threads for llama.cpp (default 1: the machines have 2 cores shared by everyone). */
  threads?: number;
  /** Kill the child after this long (default 10 minutes). */
  timeoutMs?: number;
}

export interface LlamaInfo {
  nVocab: number;
  bos: number | null;
  eos: number | null;
  eot: number | null;
  nl: number | null;
  architecture: string;
  typeDescription: string;
  trainContextSize: number;
  embeddingVectorSize: number;
  /** node-llama-cpp's package version, e.g. "3.21.1". */
  nodeLlamaCppVersion: string;
  /** The llama.cpp build node-llama-cpp bundles: { repo, release }. */
  llamaCppRelease: { repo: string; release: string };
  buildType: string;
  gpu: string | false;
  systemInfo: string;
}

type Request = { op: string; modelPath: string; threads?: number; [field: string]: unknown };

async function runLlama<T>(req: Request, opts: LlamaRunOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const child = spawn(process.execPath, [RUNNER], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  child.stdin.end(JSON.stringify({ ...req, threads: opts.threads ?? 1 }));

  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));

  const out = Buffer.concat(stdout).toString('utf8').trim();
  const errTail = Buffer.concat(stderr).toString('utf8').slice(-2000);
  const lastLine = out.slice(out.lastIndexOf('\n') + 1);
  let reply: { ok: boolean; result?: T; error?: string } | undefined;
  try {
    reply = lastLine ? JSON.parse(lastLine) : undefined;
  } catch {
    reply = undefined;
  }
  if (reply?.ok) return reply.result as T;
  const why = reply?.error ?? (signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}` : `exit code ${code}`);
  throw new Error(`llama.cpp runner (${req.op}) failed on ${req.modelPath}: ${why}${errTail ? `\n--- llama.cpp stderr (tail) ---\n${errTail}` : ''}`);
}

/** llama.cpp's tokenization of each text (no BOS/EOS; special tokens parsed only with parseSpecial). */
export async function llamaTokenize(
  modelPath: string,
  texts: string[],
  opts: LlamaRunOptions & { parseSpecial?: boolean } = {},
): Promise<number[][]> {
  return runLlama<number[][]>({ op: 'tokenize', modelPath, texts, parseSpecial: opts.parseSpecial === true }, opts);
}

/** llama.cpp's text for each token sequence (control tokens rendered only with renderSpecial). */
export async function llamaDetokenize(
  modelPath: string,
  seqs: number[][],
  opts: LlamaRunOptions & { renderSpecial?: boolean } = {},
): Promise<string[]> {
  return runLlama<string[]>({ op: 'detokenize', modelPath, seqs, renderSpecial: opts.renderSpecial === true }, opts);
}

/**
 * For each sequence and each position i, llama.cpp's natural-log softmax over the whole
 * vocabulary for the token after token i: result[s][i] is a Float32Array(nVocab).
 * CPU, flash attention off, F32 KV cache, each sequence in one batch from an empty cache, no
 * BOS added (pass it in the sequence if wanted). See runner.mjs for how log-probs are derived.
 */
export async function llamaLogprobs(modelPath: string, seqs: number[][], opts: LlamaRunOptions = {}): Promise<Float32Array[][]> {
  if (seqs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'bankai-llama-'));
  try {
    const outFile = join(dir, 'logprobs.f32');
    const { nVocab, lengths } = await runLlama<{ nVocab: number; lengths: number[] }>(
      { op: 'logprobs', modelPath, seqs, outFile },
      opts,
    );
    const bytes = readFileSync(outFile); // (sum of lengths, nVocab) f32 LE
    const expected = lengths.reduce((a, b) => a + b, 0) * nVocab * 4;
    if (bytes.length !== expected) {
      throw new Error(`llama.cpp runner wrote ${bytes.length} bytes of log-probs for ${modelPath}, expected ${expected}`);
    }
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    let row = 0;
    return lengths.map((len) =>
      Array.from({ length: len }, () => {
        const r = all.subarray(row * nVocab, (row + 1) * nVocab);
        row++;
        return r;
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Greedy continuation by llama.cpp (argmax of the logits, ties to the lowest id). Stops after
 * maxTokens, after an end-of-generation token (included) or, with stopAtNewline, after the first
 * token whose text contains "\n" (included). Returns only the generated tokens.
 */
export async function llamaGenerateGreedy(
  modelPath: string,
  promptTokens: number[],
  maxTokens: number,
  stopAtNewline = false,
  opts: LlamaRunOptions = {},
): Promise<number[]> {
  return (await llamaGenerateGreedyMany(modelPath, [promptTokens], maxTokens, stopAtNewline, opts))[0]!;
}

/** llamaGenerateGreedy for many prompts, each from an empty cache, in one llama.cpp process (one model load). */
export async function llamaGenerateGreedyMany(
  modelPath: string,
  prompts: number[][],
  maxTokens: number,
  stopAtNewline = false,
  opts: LlamaRunOptions = {},
): Promise<number[][]> {
  return runLlama<number[][]>({ op: 'generate', modelPath, prompts, maxTokens, stopAtNewline }, opts);
}

/** What llama.cpp makes of the model (vocabulary size, special ids) and which llama.cpp build runs it. */
export async function llamaInfo(modelPath: string, opts: LlamaRunOptions = {}): Promise<LlamaInfo> {
  return runLlama<LlamaInfo>({ op: 'info', modelPath }, opts);
}

export interface LlamaBenchResult {
  scoreSeconds: number;
  scoredTokens: number;
  decodeSeconds: number;
  decodeTokens: number;
}

/** Timings of llama.cpp scoring `seqs` (all-position logits) and decoding `decodeTokens` after a prompt (benchmarks only). */
export async function llamaBench(
  modelPath: string,
  req: { seqs: number[][]; promptTokens: number[]; decodeTokens: number },
  opts: LlamaRunOptions = {},
): Promise<LlamaBenchResult> {
  return runLlama<LlamaBenchResult>({ op: 'bench', modelPath, ...req }, opts);
}
