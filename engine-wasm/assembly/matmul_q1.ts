// ---- y (n, rows) = x (n, cols) . W^T for Q1_0 weights and Q8_0 activations ----
// Math (llama.cpp ggml_vec_dot_q1_0_q8_0_generic): for each 128-weight group b with scale d_b and
// its four Q8_0 sub-blocks k (scales dx_k):
//   isum_k = sum_j (bit ? +q_j : -q_j)              exact integer
//   acc_b  = ((dx_0*isum_0 + dx_1*isum_1) + dx_2*isum_2) + dx_3*isum_3     in f32, from 0
//   y      = sum over b, in order, of d_b * acc_b                          in f32, from 0
// Both kernels below do exactly these float operations, so fast == reference bit for bit.
//
// Virtual flips (weights untouched): `flipRows` (n int32 rows) negates those rows' outputs;
// `flipPairs` (int32 (row, group) pairs, sorted by row then group) negates isum of those groups.
// Both equal the materialized XOR bit-exactly. A row or pair listed twice cancels out.
// Only rows in [row0, row1) are computed and written (lets several threads split one matmul).

import { q1BitsAddr, q1ScaleAddr, q1ScalesOffset } from './q1';
import { q8ScalesOffset, q8LutOffset } from './q8';

// ---- reference: plain loops, one weight bit at a time ----

function countRow(list: usize, n: i32, r: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) if (load<i32>(list + (<usize>i << 2)) == r) c++;
  return c;
}

function countPair(pairs: usize, n: i32, r: i32, g: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (load<i32>(pairs + (<usize>i << 3)) == r && load<i32>(pairs + (<usize>i << 3) + 4) == g) c++;
  }
  return c;
}

export function matmulQ1Ref(
  w: usize, rows: i32, cols: i32, xq: usize, n: i32, y: usize, row0: i32, row1: i32,
  flipRows: usize, nFlipRows: i32, flipPairs: usize, nFlipPairs: i32,
): void {
  const groups = cols >> 7;
  for (let t = 0; t < n; t++) {
    const q = xq + <usize>t * <usize>cols;                                     // (cols) int8
    const dx = xq + q8ScalesOffset(n, cols) + <usize>t * <usize>(cols >> 5) * 4;  // (cols/32) f32
    for (let r = row0; r < row1; r++) {
      let sumf: f32 = 0;
      for (let b = 0; b < groups; b++) {
        const neg = (countPair(flipPairs, nFlipPairs, r, b) & 1) != 0;
        let acc: f32 = 0;
        for (let k = 0; k < 4; k++) {
          let isum: i32 = 0;
          for (let j = 0; j < 32; j++) {
            const c = b * 128 + k * 32 + j;
            const bit = (load<u8>(q1BitsAddr(w, cols, r, c >> 3)) >> <u8>(c & 7)) & 1;
            const qv = <i32>load<i8>(q + <usize>c);
            isum += bit ? qv : -qv;
          }
          if (neg) isum = -isum;
          acc += load<f32>(dx + <usize>(b * 4 + k) * 4) * <f32>isum;
        }
        sumf += load<f32>(q1ScaleAddr(w, rows, cols, r, b)) * acc;
      }
      if ((countRow(flipRows, nFlipRows, r) & 1) != 0) sumf = -sumf;
      store<f32>(y + (<usize>t * <usize>rows + <usize>r) * 4, sumf);
    }
  }
}

// ---- fast: lookup tables over 16-row tiles (T-MAC style) ----
// Per 8-column chunk, one v128 load gives the qs byte of 16 rows; its low and high nibbles index
// the 16-entry tables of the chunk's two activation quads (built by quantizeQ8). Entries span
// [-508, 508], so each table is looked up twice (low bytes, high bytes) and the bytes are
// re-interleaved into exact int16 sums; a 32-column sub-block sums 8 lookups (|isum| <= 4064).

// Table lookup with in-range indices (nibbles, always < 16). The relaxed-simd build uses
// relaxed_swizzle, which is defined exactly for such indices (it only differs from swizzle for
// indices >= 16) and skips the range fix-up that engines emit for i8x16.swizzle.
// @ts-ignore: decorator
@inline function lookup16(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

// One 16-row tile for one token: writes 16 outputs at yOut.
// Groups [g0, g1) only; `first` starts the sums at 0, otherwise they continue from yOut (column
// chunks: same float operations in the same order as one pass over the whole row).
function tileDot(wTile: usize, sTile: usize, g0: i32, g1: i32, lut: usize, dx: usize, yOut: usize, first: bool): void {
  const lowNibble = i8x16.splat(0x0f);
  let wp = wTile + (<usize>g0 << 8), lp = lut + (<usize>g0 << 10), dp = dx + (<usize>g0 << 4), sp = sTile + (<usize>g0 << 6);
  let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
  if (!first) {
    y0 = v128.load(yOut); y1 = v128.load(yOut, 16); y2 = v128.load(yOut, 32); y3 = v128.load(yOut, 48);
  }
  for (let b = g0; b < g1; b++) {
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (let k = 0; k < 4; k++) {
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0); // rows 0..7, 8..15: isum of this sub-block
      for (let c = 0; c < 4; c++) {
        const wv = v128.load(wp);
        const n0 = v128.and(wv, lowNibble);
        const n1 = v128.and(i16x8.shr_u(wv, 4), lowNibble);
        let tl = lookup16(v128.load(lp), n0);
        let th = lookup16(v128.load(lp, 16), n0);
        a0 = i16x8.add(a0, i8x16.shuffle(tl, th, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
        a1 = i16x8.add(a1, i8x16.shuffle(tl, th, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
        tl = lookup16(v128.load(lp, 32), n1);
        th = lookup16(v128.load(lp, 48), n1);
        a0 = i16x8.add(a0, i8x16.shuffle(tl, th, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
        a1 = i16x8.add(a1, i8x16.shuffle(tl, th, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
        wp += 16;
        lp += 64;
      }
      const dk = f32x4.splat(load<f32>(dp));
      dp += 4;
      b0 = f32x4.add(b0, f32x4.mul(dk, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a0))));
      b1 = f32x4.add(b1, f32x4.mul(dk, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a0))));
      b2 = f32x4.add(b2, f32x4.mul(dk, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a1))));
      b3 = f32x4.add(b3, f32x4.mul(dk, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a1))));
    }
    y0 = f32x4.add(y0, f32x4.mul(v128.load(sp), b0));
    y1 = f32x4.add(y1, f32x4.mul(v128.load(sp, 16), b1));
    y2 = f32x4.add(y2, f32x4.mul(v128.load(sp, 32), b2));
    y3 = f32x4.add(y3, f32x4.mul(v128.load(sp, 48), b3));
    sp += 64;
  }
  v128.store(yOut, y0);
  v128.store(yOut, y1, 16);
  v128.store(yOut, y2, 32);
  v128.store(yOut, y3, 48);
}

// One row, one token, scalar table lookups (one per nibble), with the groups listed in
// pairs[p0, p1) (all of row r, sorted) negated: used for edge rows outside full tiles and for
// rows with group flips. lut: this token's (cols/4, 2, 16) tables.
function rowDot(w: usize, rows: i32, cols: i32, r: i32, lut: usize, dx: usize, pairs: usize, p0: i32, p1: i32): f32 {
  const groups = cols >> 7;
  let p = p0;
  let sumf: f32 = 0;
  for (let b = 0; b < groups; b++) {
    let flips = 0;
    while (p < p1 && load<i32>(pairs + (<usize>p << 3) + 4) < b) p++;
    while (p < p1 && load<i32>(pairs + (<usize>p << 3) + 4) == b) { flips++; p++; }
    let acc: f32 = 0;
    for (let k = 0; k < 4; k++) {
      let isum: i32 = 0;
      for (let j = 0; j < 4; j++) {
        const c = b * 16 + k * 4 + j;                       // 8-column chunk = quads 2c, 2c+1
        const bits = <usize>load<u8>(q1BitsAddr(w, cols, r, c));
        const t0 = lut + (<usize>c << 6) + (bits & 15);
        const t1 = lut + (<usize>c << 6) + 32 + (bits >> 4);
        isum += <i32>load<u8>(t0) + (<i32>load<i8>(t0, 16) << 8);
        isum += <i32>load<u8>(t1) + (<i32>load<i8>(t1, 16) << 8);
      }
      if (flips & 1) isum = -isum;
      acc += load<f32>(dx + <usize>(b * 4 + k) * 4) * <f32>isum;
    }
    sumf += load<f32>(q1ScaleAddr(w, rows, cols, r, b)) * acc;
  }
  return sumf;
}

// Bytes of lookup tables (all tokens, one column chunk) to keep hot; per instance. Default: no
// chunking. Measured here (Zen 4, 1 MiB L2, 32 MiB L3, by CPU time): 256 KiB and 1 MiB budgets were
// 3-10% slower than none for n = 32..512 (hardware prefetch streams the tables well); a machine
// with a small L3 may prefer a budget.
let lutBudget: usize = <usize>0xffffffff;

// Tuning/test hook: sets the table budget in bytes (one group = 1 KiB of tables per token).
export function setQ1LutBudget(bytes: usize): void {
  lutBudget = bytes;
}

export function matmulQ1(
  w: usize, rows: i32, cols: i32, xq: usize, n: i32, y: usize, row0: i32, row1: i32,
  flipRows: usize, nFlipRows: i32, flipPairs: usize, nFlipPairs: i32,
): void {
  const groups = cols >> 7;
  const ds = xq + q8ScalesOffset(n, cols);        // (n, cols/32) f32
  const lut = xq + q8LutOffset(n, cols);          // (n, cols/4, 2, 16) bytes
  const lutStride = <usize>(cols >> 2) * 32;
  const dStride = <usize>(cols >> 5) * 4;
  const tileBits = <usize>(cols >> 3) * 16;       // bytes of one 16-row tile
  const tileScales = <usize>groups * 64;
  const scales = w + q1ScalesOffset(rows, cols);
  const tileA = (row0 + 15) >> 4;                 // full tiles [tileA, tileB) lie inside [row0, row1)
  const tileB = row1 >> 4;
  const edgeEnd = tileA < tileB ? tileA << 4 : row1;
  const edgeStart = tileA < tileB ? tileB << 4 : row1;
  for (let t = 0; t < n; t++) {
    const lt = lut + <usize>t * lutStride;
    const dx = ds + <usize>t * dStride;
    const yt = y + <usize>t * <usize>rows * 4;
    for (let r = row0; r < edgeEnd; r++) store<f32>(yt + (<usize>r << 2), rowDot(w, rows, cols, r, lt, dx, 0, 0, 0));
    for (let r = edgeStart; r < row1; r++) store<f32>(yt + (<usize>r << 2), rowDot(w, rows, cols, r, lt, dx, 0, 0, 0));
  }
  // Optional column chunks keep the lookup tables of all n tokens for one chunk (n * 8 bytes per
  // column) within lutBudget; each tile's weights are reused across the n tokens from L1.
  const chunkGroups = max(1, min(groups, <i32>(lutBudget / (<usize>max(n, 1) * 1024))));
  for (let g0 = 0; g0 < groups; g0 += chunkGroups) {
    const g1 = min(groups, g0 + chunkGroups);
    for (let tile = tileA; tile < tileB; tile++) {
      const wTile = w + <usize>tile * tileBits;
      const sTile = scales + <usize>tile * tileScales;
      for (let t = 0; t < n; t++) {
        tileDot(wTile, sTile, g0, g1, lut + <usize>t * lutStride, ds + <usize>t * dStride,
          y + (<usize>t * <usize>rows + (<usize>tile << 4)) * 4, g0 == 0);
      }
    }
  }
  applyFlips(w, rows, cols, lut, ds, n, y, row0, row1, flipRows, nFlipRows, flipPairs, nFlipPairs);
}

// Recomputes rows with group flips (scalar, same float order), then negates flipped rows.
function applyFlips(
  w: usize, rows: i32, cols: i32, lut: usize, ds: usize, n: i32, y: usize, row0: i32, row1: i32,
  flipRows: usize, nFlipRows: i32, flipPairs: usize, nFlipPairs: i32,
): void {
  const dStride = <usize>(cols >> 5) * 4;
  const lutStride = <usize>(cols >> 2) * 32;
  let p = 0;
  while (p < nFlipPairs) {
    const r = load<i32>(flipPairs + (<usize>p << 3));
    let e = p + 1;
    while (e < nFlipPairs && load<i32>(flipPairs + (<usize>e << 3)) == r) e++;
    if (r >= row0 && r < row1) {
      for (let t = 0; t < n; t++) {
        store<f32>(y + (<usize>t * <usize>rows + <usize>r) * 4,
          rowDot(w, rows, cols, r, lut + <usize>t * lutStride, ds + <usize>t * dStride, flipPairs, p, e));
      }
    }
    p = e;
  }
  for (let i = 0; i < nFlipRows; i++) {
    const r = load<i32>(flipRows + (<usize>i << 2));
    if (r < row0 || r >= row1) continue;
    for (let t = 0; t < n; t++) {
      const a = y + (<usize>t * <usize>rows + <usize>r) * 4;
      store<f32>(a, -load<f32>(a));
    }
  }
}

