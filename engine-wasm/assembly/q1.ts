// ---- Q1_0 weights in the engine's layout ----
// GGUF Q1_0 (ggml type 41): per row, cols/128 blocks of 18 bytes: fp16 d, then qs[16];
// weight j of a block is ((qs[j>>3] >> (j&7)) & 1) ? +d : -d (LSB first).
//
// Engine layout of a (rows, cols) tensor at `w`, rows padded to a multiple of 16 (rowsPad):
//   bits   at w:                 (rowsPad/16, cols/8, 16) bytes  tile, 8-column chunk, row in tile;
//          each byte is exactly the GGUF qs byte of that row and chunk (low nibble = columns
//          0..3 of the chunk, high nibble = 4..7), so one v128 load gives 16 rows' nibbles
//   scales at w + rowsPad*cols/8: (rowsPad/16, cols/128, 16) f32  the fp16 d widened exactly
// Padding rows are never read by the kernels.

import { f16ToF32Bits, f32ToF16Bits } from './f16';

// @ts-ignore: decorator
@inline export function rowsPadded(rows: i32): usize {
  return <usize>((rows + 15) & ~15);
}

// @ts-ignore: decorator
@inline export function q1ScalesOffset(rows: i32, cols: i32): usize {
  return rowsPadded(rows) * <usize>(cols >> 3);
}

export function q1Bytes(rows: i32, cols: i32): usize {
  return q1ScalesOffset(rows, cols) + rowsPadded(rows) * <usize>(cols >> 7) * 4;
}

// byte address of row r's qs byte for 8-column chunk c
// @ts-ignore: decorator
@inline export function q1BitsAddr(w: usize, cols: i32, r: i32, c: i32): usize {
  return w + ((<usize>(r >> 4) * <usize>(cols >> 3) + <usize>c) << 4) + <usize>(r & 15);
}

// address of the f32 scale of row r, group g
// @ts-ignore: decorator
@inline export function q1ScaleAddr(w: usize, rows: i32, cols: i32, r: i32, g: i32): usize {
  return w + q1ScalesOffset(rows, cols) +
    (((<usize>(r >> 4) * <usize>(cols >> 7) + <usize>g) << 4) + <usize>(r & 15)) * 4;
}

// src: (nRows, cols/128) GGUF blocks of 18 bytes, for rows row0 .. row0+nRows-1.
export function q1PackRows(w: usize, rows: i32, cols: i32, row0: i32, nRows: i32, src: usize): void {
  const groups = cols >> 7;
  let p = src;
  for (let r = row0; r < row0 + nRows; r++) {
    for (let g = 0; g < groups; g++) {
      store<u32>(q1ScaleAddr(w, rows, cols, r, g), f16ToF32Bits(<u32>load<u16>(p)));
      for (let j = 0; j < 16; j++) store<u8>(q1BitsAddr(w, cols, r, g * 16 + j), load<u8>(p + 2 + j));
      p += 18;
    }
  }
}

// Inverse of q1PackRows: writes the exact GGUF bytes back to dst.
export function q1UnpackRows(w: usize, rows: i32, cols: i32, row0: i32, nRows: i32, dst: usize): void {
  const groups = cols >> 7;
  let p = dst;
  for (let r = row0; r < row0 + nRows; r++) {
    for (let g = 0; g < groups; g++) {
      store<u16>(p, <u16>f32ToF16Bits(load<u32>(q1ScaleAddr(w, rows, cols, r, g))));
      for (let j = 0; j < 16; j++) store<u8>(p + 2 + j, load<u8>(q1BitsAddr(w, cols, r, g * 16 + j)));
      p += 18;
    }
  }
}

// out: (cols) f32, weight j = bit ? +d : -d exactly.
export function q1DequantRow(w: usize, rows: i32, cols: i32, r: i32, out: usize): void {
  for (let c = 0; c < cols; c++) {
    const d = load<f32>(q1ScaleAddr(w, rows, cols, r, c >> 7));
    const bit = (load<u8>(q1BitsAddr(w, cols, r, c >> 3)) >> <u8>(c & 7)) & 1;
    store<f32>(out + (<usize>c << 2), bit ? d : -d);
  }
}

// mean of the row's fp16 scales (accumulated in f64)
export function q1RowScale(w: usize, rows: i32, cols: i32, r: i32): f64 {
  const groups = cols >> 7;
  let s: f64 = 0;
  for (let g = 0; g < groups; g++) s += <f64>load<f32>(q1ScaleAddr(w, rows, cols, r, g));
  return s / <f64>groups;
}

// Flips every bit of each listed row (int32 row indices at `list`).
export function xorRows(w: usize, rows: i32, cols: i32, list: usize, n: i32): void {
  const chunks = cols >> 3;
  for (let i = 0; i < n; i++) {
    const r = load<i32>(list + (<usize>i << 2));
    for (let c = 0; c < chunks; c++) {
      const a = q1BitsAddr(w, cols, r, c);
      store<u8>(a, ~load<u8>(a));
    }
  }
}

// Flips the 128 bits of each listed (row, group) pair (int32 pairs at `pairs`).
export function xorGroups(w: usize, rows: i32, cols: i32, pairs: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const r = load<i32>(pairs + (<usize>i << 3));
    const g = load<i32>(pairs + (<usize>i << 3) + 4);
    for (let j = 0; j < 16; j++) {
      const a = q1BitsAddr(w, cols, r, g * 16 + j);
      store<u8>(a, ~load<u8>(a));
    }
  }
}
