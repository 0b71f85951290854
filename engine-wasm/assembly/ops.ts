// ---- f32 ops on host-laid buffers (in place allowed where out == in) ----
// Arithmetic follows llama.cpp's ggml-cpu ops where that is cheap (noted per op).

// rms_norm then mul (ggml): sum of x*x (f32 products) accumulated in f64; mean = f32(sum/dim);
// scale = 1/sqrtf(mean + eps); out = (x * scale) * weight.   x, out: (n, dim); weight: (dim)
export function rmsNorm(x: usize, n: i32, dim: i32, weight: usize, eps: f32, out: usize): void {
  for (let t = 0; t < n; t++) {
    const xr = x + <usize>t * <usize>dim * 4;
    const yr = out + <usize>t * <usize>dim * 4;
    let sum: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const v = load<f32>(xr + (<usize>i << 2));
      sum += <f64>(v * v);
    }
    const mean = <f32>(sum / <f64>dim);
    const scale: f32 = <f32>1.0 / Mathf.sqrt(mean + eps);
    for (let i = 0; i < dim; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, (load<f32>(xr + o) * scale) * load<f32>(weight + o));
    }
  }
}

// NEOX rotary embedding in place. x: (n, nHeads, headDim); token i is at position pos0 + i.
// Pairs (j, j + ropeDim/2) for j < ropeDim/2; dims >= ropeDim are untouched. As ggml_rope (neox,
// no YaRN, freq_scale 1): theta_scale = powf(base, -2/ropeDim); theta starts at pos and is
// multiplied by theta_scale once per pair in f32; cos/sin in f32.
export function ropeNeox(x: usize, n: i32, nHeads: i32, headDim: i32, pos0: i32, freqBase: f32, ropeDim: i32): void {
  const half = ropeDim >> 1;
  const thetaScale = Mathf.pow(freqBase, <f32>-2.0 / <f32>ropeDim);
  for (let t = 0; t < n; t++) {
    const xt = x + <usize>t * <usize>nHeads * <usize>headDim * 4;
    let theta = <f32>(pos0 + t);
    for (let j = 0; j < half; j++) {
      const c = Mathf.cos(theta);
      const s = Mathf.sin(theta);
      for (let h = 0; h < nHeads; h++) {
        const p = xt + (<usize>h * <usize>headDim + <usize>j) * 4;
        const x0 = load<f32>(p);
        const x1 = load<f32>(p + (<usize>half << 2));
        store<f32>(p, x0 * c - x1 * s);
        store<f32>(p + (<usize>half << 2), x0 * s + x1 * c);
      }
      theta *= thetaScale;
    }
  }
}

// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, len: i32): f32 {
  const l4 = len & ~3;
  let s = f32x4.splat(0);
  for (let i = 0; i < l4; i += 4) s = f32x4.add(s, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let r = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  for (let i = l4; i < len; i++) r += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return r;
}

// softmax of one row in place, as ggml soft_max: max, e = expf(x - max), sum of e in f64,
// x = e * f32(1/sum).
function softmaxRow(p: usize, len: i32): void {
  let m = -Infinity as f32;
  for (let i = 0; i < len; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
  let sum: f64 = 0;
  for (let i = 0; i < len; i++) {
    const e = Mathf.exp(load<f32>(p + (<usize>i << 2)) - m);
    store<f32>(p + (<usize>i << 2), e);
    sum += <f64>e;
  }
  const inv = <f32>(1.0 / sum);
  for (let i = 0; i < len; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * inv);
}

// Causal attention with GQA. q, out: (n, nHead, hd); kCache, vCache: (ctx, nKv, hd) f32 with
// positions 0 .. pos0+n-1 filled; scratch: >= pos0+n f32. Token i attends to 0 .. pos0+i;
// head h uses kv head h / (nHead/nKv). scores = (q.k) * scale, softmax as above, out = sum p*v.
export function attention(
  q: usize, kCache: usize, vCache: usize, n: i32, pos0: i32, nHead: i32, nKv: i32, hd: i32,
  scale: f32, out: usize, scratch: usize,
): void {
  const group = nHead / nKv;
  const kvStride = <usize>nKv * <usize>hd * 4;   // bytes per position
  const hd4 = hd & ~3;
  for (let i = 0; i < n; i++) {
    const len = pos0 + i + 1;
    for (let h = 0; h < nHead; h++) {
      const qh = q + (<usize>i * <usize>nHead + <usize>h) * <usize>hd * 4;
      const kvh = <usize>(h / group) * <usize>hd * 4;
      for (let j = 0; j < len; j++) {
        store<f32>(scratch + (<usize>j << 2), dot(qh, kCache + <usize>j * kvStride + kvh, hd) * scale);
      }
      softmaxRow(scratch, len);
      // out = sum over j (in order) of p_j * v_j: one pass over the cache rows, contiguous reads
      const oh = out + (<usize>i * <usize>nHead + <usize>h) * <usize>hd * 4;
      memory.fill(oh, 0, <usize>hd * 4);
      for (let j = 0; j < len; j++) {
        const pj = load<f32>(scratch + (<usize>j << 2));
        const vj = vCache + <usize>j * kvStride + kvh;
        const pv = f32x4.splat(pj);
        for (let d = 0; d < hd4; d += 4) {
          const o = <usize>d << 2;
          v128.store(oh + o, f32x4.add(v128.load(oh + o), f32x4.mul(pv, v128.load(vj + o))));
        }
        for (let d = hd4; d < hd; d++) {
          const o = <usize>d << 2;
          store<f32>(oh + o, load<f32>(oh + o) + pj * load<f32>(vj + o));
        }
      }
    }
  }
}

// x: (n, dim), each row softmaxed in place
export function softmax(x: usize, n: i32, dim: i32): void {
  for (let t = 0; t < n; t++) softmaxRow(x + <usize>t * <usize>dim * 4, dim);
}

// out = x - (max + log(sum exp(x - max))), the log-sum-exp in f64. x, out: (n, dim)
export function logSoftmax(x: usize, n: i32, dim: i32, out: usize): void {
  for (let t = 0; t < n; t++) {
    const xr = x + <usize>t * <usize>dim * 4;
    const yr = out + <usize>t * <usize>dim * 4;
    let m = -Infinity as f32;
    for (let i = 0; i < dim; i++) m = max(m, load<f32>(xr + (<usize>i << 2)));
    let sum: f64 = 0;
    for (let i = 0; i < dim; i++) sum += Math.exp(<f64>load<f32>(xr + (<usize>i << 2)) - <f64>m);
    const lse = <f64>m + Math.log(sum);
    for (let i = 0; i < dim; i++) store<f32>(yr + (<usize>i << 2), <f32>(<f64>load<f32>(xr + (<usize>i << 2)) - lse));
  }
}

// SwiGLU: out = silu(g) * u, silu(g) = g / (1 + expf(-g)) (ggml_silu_f32)
export function siluMul(g: usize, u: usize, len: i32, out: usize): void {
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(g + o);
    store<f32>(out + o, (v / (<f32>1.0 + Mathf.exp(-v))) * load<f32>(u + o));
  }
}

export function add(a: usize, b: usize, len: i32, out: usize): void {
  const l4 = len & ~3;
  for (let i = 0; i < l4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = l4; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

export function mul(a: usize, b: usize, len: i32, out: usize): void {
  const l4 = len & ~3;
  for (let i = 0; i < l4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = l4; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

export function scale(x: usize, len: i32, s: f32, out: usize): void {
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * s);
  }
}

export function copyBytes(src: usize, dst: usize, bytes: usize): void {
  memory.copy(dst, src, bytes);
}

export function fillF32(ptr: usize, len: i32, value: f32): void {
  for (let i = 0; i < len; i++) store<f32>(ptr + (<usize>i << 2), value);
}
