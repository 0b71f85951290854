// ---------------------------------------------------------------------------------------------
// A plain, slow Qwen3 forward pass over a GGUF file's dequantized weights (float32 weights,
// float64 sums, float activations: no Q8_0 activation quantization). It exists to check the
// exported file against the training forward (greedy outputs of train/train.py), not as an engine:
// the toolkit's engine lives in @bankai/model. Reads every value it needs from the file.
// ---------------------------------------------------------------------------------------------

import {
  bytesSource, dequantizeQ1_0, GGML_TYPE, QWEN3_BLOCK_TENSORS, QWEN3_OUTPUT, QWEN3_OUTPUT_NORM, QWEN3_TOKEN_EMBD, qwen3BlockName, readGguf,
  readTensorBytes, WEIGHT_SUFFIX, type GgufFile, type Qwen3BlockKey,
} from '@bankai/gguf';

export interface ReferenceConfig {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  vocab: number;
  ropeBase: number;
  rmsEps: number;
}

/** One block's weights, a field per tensor of the Qwen3 plan (@bankai/gguf QWEN3_BLOCK_TENSORS). */
interface Layer extends Record<Qwen3BlockKey, Float32Array> {
  attnNorm: Float32Array; // (n_embd,)
  q: Float32Array; // (n_head*head_dim, n_embd) row-major: row = output
  k: Float32Array; // (n_head_kv*head_dim, n_embd)
  v: Float32Array; // (n_head_kv*head_dim, n_embd)
  qNorm: Float32Array; // (head_dim,)
  kNorm: Float32Array; // (head_dim,)
  o: Float32Array; // (n_embd, n_head*head_dim)
  ffnNorm: Float32Array; // (n_embd,)
  gate: Float32Array; // (n_ff, n_embd)
  up: Float32Array; // (n_ff, n_embd)
  down: Float32Array; // (n_embd, n_ff)
}

function num(file: GgufFile, key: string): number {
  const v = file.metadata.get(key);
  if (!v || typeof v.value !== 'number') throw new Error(`${key}: missing or not a number in the GGUF metadata`);
  return v.value;
}

export class ReferenceModel {
  private constructor(
    readonly config: ReferenceConfig,
    private readonly embd: Float32Array, // (vocab, n_embd)
    private readonly layers: Layer[],
    private readonly outNorm: Float32Array, // (n_embd,)
    private readonly output: Float32Array, // (vocab, n_embd)
  ) {}

  static async fromGguf(bytes: Uint8Array, name = 'model.gguf'): Promise<ReferenceModel> {
    const src = bytesSource(bytes, name);
    const file = await readGguf(src);
    const c: ReferenceConfig = {
      nLayer: num(file, 'qwen3.block_count'),
      nEmbd: num(file, 'qwen3.embedding_length'),
      nHead: num(file, 'qwen3.attention.head_count'),
      nHeadKv: num(file, 'qwen3.attention.head_count_kv'),
      headDim: num(file, 'qwen3.attention.key_length'),
      nFf: num(file, 'qwen3.feed_forward_length'),
      vocab: 0,
      ropeBase: num(file, 'qwen3.rope.freq_base'),
      rmsEps: num(file, 'qwen3.attention.layer_norm_rms_epsilon'),
    };
    const tensor = async (n: string): Promise<Float32Array> => {
      const t = file.tensors.find((x) => x.name === n);
      if (!t) throw new Error(`${name}: tensor ${n} is missing`);
      const raw = await readTensorBytes(src, t);
      if (t.type === GGML_TYPE.Q1_0) return dequantizeQ1_0(raw);
      if (t.type === GGML_TYPE.F32) return new Float32Array(raw.slice().buffer);
      throw new Error(`${name}: tensor ${n} has type ${t.typeName}; the reference reads Q1_0 and F32 only`);
    };
    const embd = await tensor(QWEN3_TOKEN_EMBD + WEIGHT_SUFFIX);
    c.vocab = embd.length / c.nEmbd;
    const layers: Layer[] = [];
    for (let i = 0; i < c.nLayer; i++) {
      const layer: Partial<Layer> = {};
      for (const t of QWEN3_BLOCK_TENSORS) layer[t.key] = await tensor(qwen3BlockName(i, t.local) + WEIGHT_SUFFIX);
      layers.push(layer as Layer);
    }
    const output = QWEN3_OUTPUT + WEIGHT_SUFFIX;
    const hasOutput = file.tensors.some((t) => t.name === output);
    return new ReferenceModel(c, embd, layers, await tensor(QWEN3_OUTPUT_NORM + WEIGHT_SUFFIX), hasOutput ? await tensor(output) : embd);
  }

  /** Logits after every position of `ids`: (T, vocab) row-major. */
  logits(ids: readonly number[]): Float32Array {
    const { nEmbd: E, nHead: H, nHeadKv: KV, headDim: D, nFf: FF, vocab: V } = this.config;
    const T = ids.length;
    const x = new Float32Array(T * E); // (T, n_embd) residual stream
    ids.forEach((id, t) => {
      if (!(id >= 0 && id < V)) throw new Error(`logits: token id ${id} at position ${t} is outside the vocabulary (${V})`);
      x.set(this.embd.subarray(id * E, (id + 1) * E), t * E);
    });
    for (const L of this.layers) {
      const h = this.rmsRows(x, T, E, L.attnNorm);
      const q = matmul(h, T, E, L.q, H * D); // (T, n_head*head_dim)
      const k = matmul(h, T, E, L.k, KV * D); // (T, n_head_kv*head_dim)
      const v = matmul(h, T, E, L.v, KV * D);
      const qn = this.rmsRows(q, T * H, D, L.qNorm);
      const kn = this.rmsRows(k, T * KV, D, L.kNorm);
      this.ropeNeox(qn, T, H);
      this.ropeNeox(kn, T, KV);
      const att = new Float32Array(T * H * D); // (T, n_head*head_dim)
      const scores = new Float64Array(T);
      for (let hd = 0; hd < H; hd++) {
        const kvh = Math.floor(hd / (H / KV));
        for (let i = 0; i < T; i++) {
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) s += qn[(i * H + hd) * D + d]! * kn[(j * KV + kvh) * D + d]!;
            scores[j] = s / Math.sqrt(D);
            if (scores[j]! > max) max = scores[j]!;
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += scores[j] = Math.exp(scores[j]! - max);
          for (let d = 0; d < D; d++) {
            let acc = 0;
            for (let j = 0; j <= i; j++) acc += scores[j]! * v[(j * KV + kvh) * D + d]!;
            att[(i * H + hd) * D + d] = acc / sum;
          }
        }
      }
      addInPlace(x, matmul(att, T, H * D, L.o, E));
      const h2 = this.rmsRows(x, T, E, L.ffnNorm);
      const g = matmul(h2, T, E, L.gate, FF);
      const u = matmul(h2, T, E, L.up, FF);
      for (let i = 0; i < g.length; i++) g[i] = (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!;
      addInPlace(x, matmul(g, T, FF, L.down, E));
    }
    return matmul(this.rmsRows(x, T, E, this.outNorm), T, E, this.output, V);
  }

  /** Greedy continuation until `stopId` (included) or `maxNew` tokens. */
  greedy(prompt: readonly number[], maxNew: number, stopId: number): number[] {
    const seq = [...prompt];
    const out: number[] = [];
    const V = this.config.vocab;
    for (let n = 0; n < maxNew; n++) {
      const all = this.logits(seq);
      const last = all.subarray((seq.length - 1) * V, seq.length * V);
      let best = 0;
      for (let i = 1; i < V; i++) if (last[i]! > last[best]!) best = i;
      out.push(best);
      if (best === stopId) break;
      seq.push(best);
    }
    return out;
  }

  private rmsRows(x: Float32Array, rows: number, n: number, w: Float32Array): Float32Array {
    const out = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
      const inv = 1 / Math.sqrt(ss / n + this.config.rmsEps);
      for (let i = 0; i < n; i++) out[r * n + i] = x[r * n + i]! * inv * w[i]!;
    }
    return out;
  }

  /** NEOX RoPE in place on (T, heads, head_dim): rotates pairs (i, i + head_dim/2). */
  private ropeNeox(x: Float32Array, T: number, heads: number): void {
    const D = this.config.headDim;
    const half = D / 2;
    for (let t = 0; t < T; t++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < half; i++) {
          const theta = t * this.config.ropeBase ** ((-2 * i) / D);
          const c = Math.cos(theta);
          const s = Math.sin(theta);
          const o = (t * heads + h) * D;
          const a = x[o + i]!;
          const b = x[o + i + half]!;
          x[o + i] = a * c - b * s;
          x[o + i + half] = a * s + b * c;
        }
  }
}

/** (rows, n) x (m, n)^T -> (rows, m). */
function matmul(x: Float32Array, rows: number, n: number, w: Float32Array, m: number): Float32Array {
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[r * n + i]! * w[j * n + i]!;
      out[r * m + j] = s;
    }
  return out;
}

function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + y[i]!;
}
