// Typed loader over engine.wasm: one shared WebAssembly.Memory, a host-side bump arena, and one
// method per kernel. Kernels never allocate; the thread that owns the layout calls alloc() and
// hands pointers to workers, which instantiate the same module on the same memory.

import type { EngineExports } from './exports.js';

/** Byte offset into engine memory. */
/** The engine's memory cannot hold what was asked (a model or batch too big for the 4 GiB
 *  maximum, an arena, or the host's RAM): a limit of the input, not a bug. */
export class EngineMemoryError extends RangeError {
  override name = 'EngineMemoryError';
}

export type Ptr = number;

/** Largest memory the module accepts: 65536 pages of 64 KiB = 4 GiB. */
export const MAX_PAGES = 65536;
const PAGE = 65536;

/** Shape and byte size of a Q1_0 tensor in the engine's layout. */
export interface Q1Layout {
  readonly rows: number;
  readonly cols: number;
  /** cols / 128: one fp16 scale per group of 128 weights along a row */
  readonly groups: number;
  /** rows rounded up to a multiple of 16 (the kernel's tile height) */
  readonly rowsPadded: number;
  /** bytes to allocate for the tensor */
  readonly bytes: number;
}

/** A Q1_0 tensor living at `ptr` in engine memory. */
export interface Q1Tensor extends Q1Layout {
  readonly ptr: Ptr;
}

/** Virtual flips laid out in engine memory (see writeFlips). */
export interface FlipSet {
  /** int32 rows to negate, sorted */
  readonly rowsPtr: Ptr;
  readonly nRows: number;
  /** int32 (row, group) pairs, sorted by row then group */
  readonly pairsPtr: Ptr;
  readonly nPairs: number;
}

const NO_FLIPS: FlipSet = { rowsPtr: 0, nRows: 0, pairsPtr: 0, nPairs: 0 };

/** Which build of the kernels: plain SIMD, or relaxed SIMD (relaxed_swizzle; bit-identical results). */
export type EngineVariant = 'simd' | 'relaxed-simd';

export interface CompileEngineOptions {
  /** 'auto' (default): relaxed-simd when the runtime validates it, else simd */
  variant?: EngineVariant | 'auto';
}

/**
 * Compiles the engine. With bytes, compiles exactly those. Without, reads ../build/engine.wasm or
 * ../build/engine-relaxed.wasm relative to this file (works from dist/ and src/, on Node, Deno and
 * Bun) and picks the variant (default: relaxed-simd when supported, for a faster 1-bit matmul).
 */
export async function compileEngine(wasmBytes?: BufferSource, opts: CompileEngineOptions = {}): Promise<WebAssembly.Module> {
  if (wasmBytes !== undefined) return WebAssembly.compile(wasmBytes);
  const variant = opts.variant ?? 'auto';
  if (variant !== 'simd') {
    const relaxed = await readBuild('engine-relaxed.wasm');
    if (variant === 'relaxed-simd' || WebAssembly.validate(relaxed)) return WebAssembly.compile(relaxed);
  }
  return WebAssembly.compile(await readBuild('engine.wasm'));
}

async function readBuild(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`../build/${name}`, import.meta.url);
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(url));
  } catch (err) {
    throw new Error(`engine-wasm: cannot read ${url.pathname} (${(err as Error).message}); ` +
      'build it with `npx turbo run build --filter=@bankai/engine-wasm` or pass the wasm bytes');
  }
}

export interface CreateEngineOptions {
  /** compiled engine module (default: compileEngine(), the fastest variant the runtime supports) */
  module?: WebAssembly.Module;
  /** shared memory to run on (default: a new shared memory); pass the owner's memory in workers */
  memory?: WebAssembly.Memory;
  /** initial size of a newly created memory, in bytes (default 16 MiB) */
  initialBytes?: number;
}

export async function createEngine(opts: CreateEngineOptions = {}): Promise<Engine> {
  const module = opts.module ?? (await compileEngine());
  let memory = opts.memory;
  if (memory === undefined) {
    const initialBytes = opts.initialBytes ?? 16 * 1024 * 1024;
    if (!Number.isFinite(initialBytes) || initialBytes < 0 || initialBytes > MAX_PAGES * PAGE) {
      throw new RangeError(`createEngine: initialBytes ${initialBytes} must be between 0 and ${MAX_PAGES * PAGE}`);
    }
    const initial = Math.max(1, Math.ceil(initialBytes / PAGE));
    memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
  } else if (!(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError('createEngine: opts.memory must be a shared WebAssembly.Memory ({ shared: true, maximum })');
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return new Engine(module, memory, instance.exports as unknown as EngineExports);
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(msg);
}

function isCount(v: number): boolean {
  return Number.isInteger(v) && v >= 0;
}

export class Engine {
  /** First byte the host may use: static data of the module lives below it. */
  readonly heapBase: number;
  /** which build of the kernels this instance runs */
  readonly variant: EngineVariant;
  /** raw wasm exports (pointers are byte offsets) */
  readonly exports: EngineExports;
  private top: number;
  private base: number;
  /** end of the arena: the 4 GiB maximum, or the end of a region given to useArena() */
  private limit = MAX_PAGES * PAGE;

  constructor(readonly module: WebAssembly.Module, readonly memory: WebAssembly.Memory, exports: EngineExports) {
    this.exports = exports;
    this.heapBase = exports.heapBase() >>> 0;
    this.variant = exports.relaxedSimd() ? 'relaxed-simd' : 'simd';
    this.top = align(this.heapBase, 64);
    this.base = this.top;
  }

  // ---- views (fresh on every call, so they are valid after memory growth) ----
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }
  f32(ptr: Ptr, n: number): Float32Array {
    this.checkRange(ptr, n * 4, 'f32 view');
    return new Float32Array(this.memory.buffer, ptr, n);
  }
  u8(ptr: Ptr, n: number): Uint8Array {
    this.checkRange(ptr, n, 'u8 view');
    return new Uint8Array(this.memory.buffer, ptr, n);
  }
  i8(ptr: Ptr, n: number): Int8Array {
    this.checkRange(ptr, n, 'i8 view');
    return new Int8Array(this.memory.buffer, ptr, n);
  }
  i32(ptr: Ptr, n: number): Int32Array {
    this.checkRange(ptr, n * 4, 'i32 view');
    return new Int32Array(this.memory.buffer, ptr, n);
  }
  u16(ptr: Ptr, n: number): Uint16Array {
    this.checkRange(ptr, n * 2, 'u16 view');
    return new Uint16Array(this.memory.buffer, ptr, n);
  }

  // ---- host-side bump arena ----
  /**
   * Reserves `bytes` (aligned), growing memory as needed. Only the layout owner calls this on the
   * shared arena; a worker's engine gets its own region with useArena().
   */
  alloc(bytes: number, alignment = 64): Ptr {
    check(isCount(bytes), `alloc: bytes must be a non-negative integer, got ${bytes}`);
    check(Number.isInteger(alignment) && alignment > 0 && (alignment & (alignment - 1)) === 0,
      `alloc: alignment must be a power of two, got ${alignment}`);
    const ptr = align(this.top, alignment);
    const end = ptr + bytes;
    if (end > this.limit) {
      throw new EngineMemoryError(this.limit === MAX_PAGES * PAGE
        ? `alloc: ${bytes} bytes at offset ${ptr} would pass the engine's 4 GiB maximum ` +
          `(${MAX_PAGES} pages); free memory with reset(mark) or use a smaller model/batch`
        : `alloc: ${bytes} bytes at offset ${ptr} would pass the end of this engine's arena ` +
          `(${this.limit}, set by useArena); give it a bigger region`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch (err) {
        throw new EngineMemoryError(`alloc: growing engine memory by ${pages} pages to ${end} bytes failed ` +
          `(${(err as Error).message}); the memory's maximum or the host's RAM is too small`);
      }
    }
    this.top = end;
    return ptr;
  }
  /**
   * Makes this engine allocate only inside [start, start+bytes), a region the layout owner
   * allocated for it (e.g. a worker's scratch buffers on the shared memory).
   */
  useArena(start: Ptr, bytes: number): void {
    this.checkRange(start, bytes, 'useArena');
    this.top = start;
    this.base = start;
    this.limit = start + bytes;
  }
  /** Current arena top, for reset(). */
  mark(): number {
    return this.top;
  }
  /** Frees everything allocated after `mark` (memory is not shrunk or cleared). */
  reset(mark: number): void {
    check(Number.isInteger(mark) && mark >= this.base && mark <= this.top,
      `reset: mark ${mark} is not a value returned by mark() on this engine`);
    this.top = mark;
  }

  // ---- Q8_0 activations ----
  /** Bytes of the engine's Q8_0 form of (n, cols) f32 activations (quants, scales, lookup tables). */
  q8Bytes(n: number, cols: number): number {
    this.checkQ8Shape(n, cols, 'q8Bytes');
    return q8LutOffset(n, cols) + n * (cols / 4) * 32;
  }
  /** Quantizes x (n, cols) f32 to out (q8Bytes(n, cols) bytes), llama.cpp's quantize_row_q8_0 on x86. */
  quantizeQ8(x: Ptr, n: number, cols: number, out: Ptr): void {
    this.checkQ8Shape(n, cols, 'quantizeQ8');
    this.checkRange(x, n * cols * 4, 'quantizeQ8 x');
    this.checkRange(out, this.q8Bytes(n, cols), 'quantizeQ8 out');
    this.exports.quantizeQ8(x, n, cols, out);
  }
  /** The int8 quants of quantized activations: (n, cols). */
  q8Quants(xq: Ptr, n: number, cols: number): Int8Array {
    this.checkQ8Shape(n, cols, 'q8Quants');
    return this.i8(xq, n * cols);
  }
  /** The per-32 scales of quantized activations: (n, cols/32) f32, each an exact fp16 value. */
  q8Scales(xq: Ptr, n: number, cols: number): Float32Array {
    this.checkQ8Shape(n, cols, 'q8Scales');
    return this.f32(xq + n * cols, n * (cols / 32));
  }

  // ---- Q1_0 weights ----
  q1Layout(rows: number, cols: number): Q1Layout {
    check(Number.isInteger(rows) && rows > 0, `q1Layout: rows must be a positive integer, got ${rows}`);
    check(Number.isInteger(cols) && cols > 0 && cols % 128 === 0,
      `q1Layout: cols (ne0) must be a positive multiple of 128 for Q1_0, got ${cols}`);
    const rowsPadded = Math.ceil(rows / 16) * 16;
    const groups = cols / 128;
    return { rows, cols, groups, rowsPadded, bytes: rowsPadded * (cols / 8) + rowsPadded * groups * 4 };
  }
  q1Place(layout: Q1Layout, ptr: Ptr): Q1Tensor {
    const l = this.q1Layout(layout.rows, layout.cols);
    this.checkRange(ptr, l.bytes, 'q1Place');
    check(ptr % 16 === 0, `q1Place: ptr ${ptr} must be 16-byte aligned`);
    return { ...l, ptr };
  }
  /** Packs nRows GGUF Q1_0 rows (nRows*groups blocks of 18 bytes at src) into rows row0.. of t. */
  q1PackRows(t: Q1Tensor, row0: number, nRows: number, src: Ptr): void {
    this.checkRows(t, row0, nRows, 'q1PackRows');
    this.checkRange(src, nRows * t.groups * 18, 'q1PackRows src');
    this.exports.q1PackRows(t.ptr, t.rows, t.cols, row0, nRows, src);
  }
  /** Writes rows row0.. of t back as the exact GGUF Q1_0 bytes (nRows*groups*18 bytes at dst). */
  q1UnpackRows(t: Q1Tensor, row0: number, nRows: number, dst: Ptr): void {
    this.checkRows(t, row0, nRows, 'q1UnpackRows');
    this.checkRange(dst, nRows * t.groups * 18, 'q1UnpackRows dst');
    this.exports.q1UnpackRows(t.ptr, t.rows, t.cols, row0, nRows, dst);
  }
  /** out (cols) f32: weight = bit ? +d : -d (embedding lookups). */
  q1DequantRow(t: Q1Tensor, row: number, out: Ptr): void {
    this.checkRows(t, row, 1, 'q1DequantRow');
    this.checkRange(out, t.cols * 4, 'q1DequantRow out');
    this.exports.q1DequantRow(t.ptr, t.rows, t.cols, row, out);
  }
  /** Mean fp16 scale over the row's groups. */
  q1RowScale(t: Q1Tensor, row: number): number {
    this.checkRows(t, row, 1, 'q1RowScale');
    return this.exports.q1RowScale(t.ptr, t.rows, t.cols, row);
  }
  /** Materialized flips: every bit of each row in `rows` (n int32 at rows). */
  xorRows(t: Q1Tensor, rows: Ptr, n: number): void {
    this.checkRange(rows, n * 4, 'xorRows list');
    for (const r of this.i32(rows, n)) this.checkRows(t, r, 1, 'xorRows');
    this.exports.xorRows(t.ptr, t.rows, t.cols, rows, n);
  }
  /** Materialized flips: the 128 bits of each (row, group) pair (n pairs of int32 at pairs). */
  xorGroups(t: Q1Tensor, pairs: Ptr, n: number): void {
    this.checkRange(pairs, n * 8, 'xorGroups list');
    const p = this.i32(pairs, n * 2);
    for (let i = 0; i < n; i++) this.checkPair(t, p[2 * i], p[2 * i + 1], 'xorGroups');
    this.exports.xorGroups(t.ptr, t.rows, t.cols, pairs, n);
  }

  // ---- virtual flips ----
  /** Bytes writeFlips needs for these counts. */
  flipBytes(nRows: number, nPairs: number): number {
    return nRows * 4 + nPairs * 8;
  }
  /**
   * Lays out virtual flips (sorted) at `at`, or in a fresh alloc() when `at` is omitted. Rows and
   * pairs are not checked against a tensor here; matmulQ1 checks them.
   */
  writeFlips(rows: readonly number[], groups: readonly (readonly [number, number])[], at?: Ptr): FlipSet {
    for (const r of rows) check(isCount(r) && r < 2 ** 31, `writeFlips: row ${r} is not a non-negative int32`);
    for (const [r, g] of groups) {
      check(isCount(r) && r < 2 ** 31 && isCount(g) && g < 2 ** 31, `writeFlips: pair (${r}, ${g}) is not two non-negative int32`);
    }
    const bytes = this.flipBytes(rows.length, groups.length);
    const base = at ?? this.alloc(bytes, 8);
    this.checkRange(base, bytes, 'writeFlips at');
    const sortedRows = [...rows].sort((a, b) => a - b);
    const sortedPairs = [...groups].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const rowsPtr = base;
    const pairsPtr = base + rows.length * 4;
    this.i32(rowsPtr, rows.length).set(sortedRows);
    const pv = this.i32(pairsPtr, groups.length * 2);
    sortedPairs.forEach(([r, g], i) => { pv[2 * i] = r; pv[2 * i + 1] = g; });
    return { rowsPtr, nRows: rows.length, pairsPtr, nPairs: groups.length };
  }

  // ---- Q1_0 matmul ----
  /**
   * y (n, rows) = x (n, cols) . W^T with xq from quantizeQ8(x, n, cols). Fast lookup-table kernel,
   * bit-identical to matmulQ1Ref. Optional row range [row0, row1) computes and writes only those rows.
   */
  matmulQ1(t: Q1Tensor, xq: Ptr, n: number, y: Ptr, flips?: FlipSet, row0 = 0, row1 = t.rows): void {
    this.checkMatmulQ1(t, xq, n, y, flips, row0, row1, 'matmulQ1');
    const f = flips ?? NO_FLIPS;
    this.exports.matmulQ1(t.ptr, t.rows, t.cols, xq, n, y, row0, row1, f.rowsPtr, f.nRows, f.pairsPtr, f.nPairs);
  }
  /** Plain reference of matmulQ1: one weight bit at a time, same float operations. */
  matmulQ1Ref(t: Q1Tensor, xq: Ptr, n: number, y: Ptr, flips?: FlipSet, row0 = 0, row1 = t.rows): void {
    this.checkMatmulQ1(t, xq, n, y, flips, row0, row1, 'matmulQ1Ref');
    const f = flips ?? NO_FLIPS;
    this.exports.matmulQ1Ref(t.ptr, t.rows, t.cols, xq, n, y, row0, row1, f.rowsPtr, f.nRows, f.pairsPtr, f.nPairs);
  }

  // ---- dense matmuls ----
  /** y (n, rows) = x (n, cols) . W^T, W (rows, cols) f32. */
  matmulF32(w: Ptr, rows: number, cols: number, x: Ptr, n: number, y: Ptr): void {
    this.checkDense(w, rows, cols, 4, x, n, y, 'matmulF32');
    this.exports.matmulF32(w, rows, cols, x, n, y);
  }
  /**
   * y (n, rows) = x (n, cols) . W^T, W (rows, cols) raw fp16 (GGUF F16 bytes). Like llama.cpp, x is
   * rounded to fp16 before the dot (in registers; x is not modified); products and sums in f32.
   */
  matmulF16(w: Ptr, rows: number, cols: number, x: Ptr, n: number, y: Ptr): void {
    this.checkDense(w, rows, cols, 2, x, n, y, 'matmulF16');
    this.exports.matmulF16(w, rows, cols, x, n, y);
  }
  /** out = x rounded to the nearest fp16 (ties to even), as f32. */
  roundF16(x: Ptr, len: number, out: Ptr): void {
    this.checkF32(len, 'roundF16', x, out);
    this.exports.roundF16(x, len, out);
  }

  // ---- f32 ops ----
  /** out (n, dim) = x * 1/sqrt(mean(x^2) + eps) * weight, llama.cpp order. */
  rmsNorm(x: Ptr, n: number, dim: number, weight: Ptr, eps: number, out: Ptr): void {
    this.checkF32(n * dim, 'rmsNorm', x, out);
    this.checkRange(weight, dim * 4, 'rmsNorm weight');
    this.exports.rmsNorm(x, n, dim, weight, eps, out);
  }
  /** NEOX rotary embedding in place on x (n, nHeads, headDim); token i at position pos0 + i. */
  ropeNeox(x: Ptr, n: number, nHeads: number, headDim: number, pos0: number, freqBase: number, ropeDim = headDim): void {
    check(isCount(pos0), `ropeNeox: pos0 must be a non-negative integer, got ${pos0}`);
    check(Number.isInteger(ropeDim) && ropeDim > 0 && ropeDim % 2 === 0 && ropeDim <= headDim,
      `ropeNeox: ropeDim ${ropeDim} must be even and at most headDim ${headDim}`);
    this.checkF32(n * nHeads * headDim, 'ropeNeox', x);
    this.exports.ropeNeox(x, n, nHeads, headDim, pos0, freqBase, ropeDim);
  }
  /** Causal GQA attention (see assembly/ops.ts); scratch >= pos0+n f32. */
  attention(q: Ptr, kCache: Ptr, vCache: Ptr, n: number, pos0: number, nHead: number, nKv: number,
    headDim: number, scale: number, out: Ptr, scratch: Ptr): void {
    check(isCount(pos0) && isCount(n), `attention: n ${n} and pos0 ${pos0} must be non-negative integers`);
    check(Number.isInteger(nKv) && nKv > 0 && Number.isInteger(nHead) && nHead % nKv === 0,
      `attention: nHead ${nHead} must be a multiple of nKv ${nKv}`);
    this.checkF32(n * nHead * headDim, 'attention', q, out);
    this.checkRange(kCache, (pos0 + n) * nKv * headDim * 4, 'attention kCache');
    this.checkRange(vCache, (pos0 + n) * nKv * headDim * 4, 'attention vCache');
    this.checkRange(scratch, (pos0 + n) * 4, 'attention scratch');
    this.exports.attention(q, kCache, vCache, n, pos0, nHead, nKv, headDim, scale, out, scratch);
  }
  /** Row-wise softmax of x (n, dim) in place. */
  softmax(x: Ptr, n: number, dim: number): void {
    this.checkF32(n * dim, 'softmax', x);
    this.exports.softmax(x, n, dim);
  }
  /** out (n, dim) = row-wise log-softmax of x. */
  logSoftmax(x: Ptr, n: number, dim: number, out: Ptr): void {
    this.checkF32(n * dim, 'logSoftmax', x, out);
    this.exports.logSoftmax(x, n, dim, out);
  }
  /** out = silu(g) * u (SwiGLU). */
  siluMul(g: Ptr, u: Ptr, len: number, out: Ptr): void {
    this.checkF32(len, 'siluMul', g, u, out);
    this.exports.siluMul(g, u, len, out);
  }
  add(a: Ptr, b: Ptr, len: number, out: Ptr): void {
    this.checkF32(len, 'add', a, b, out);
    this.exports.add(a, b, len, out);
  }
  mul(a: Ptr, b: Ptr, len: number, out: Ptr): void {
    this.checkF32(len, 'mul', a, b, out);
    this.exports.mul(a, b, len, out);
  }
  scale(x: Ptr, len: number, s: number, out: Ptr): void {
    this.checkF32(len, 'scale', x, out);
    this.exports.scale(x, len, s, out);
  }
  /** Copies `bytes` bytes (overlap allowed). */
  copy(src: Ptr, dst: Ptr, bytes: number): void {
    this.checkRange(src, bytes, 'copy src');
    this.checkRange(dst, bytes, 'copy dst');
    this.exports.copyBytes(src, dst, bytes);
  }
  fill(ptr: Ptr, len: number, value: number): void {
    this.checkF32(len, 'fill', ptr);
    this.exports.fillF32(ptr, len, value);
  }
  /** Copies a host array into engine memory at ptr. */
  writeF32(ptr: Ptr, data: ArrayLike<number>): void {
    this.f32(ptr, data.length).set(data);
  }

  // ---- argument checks (cheap; the kernels themselves trust their inputs) ----
  private checkRange(ptr: Ptr, bytes: number, what: string): void {
    if (!(Number.isInteger(ptr) && ptr >= 0 && isCount(bytes) && ptr + bytes <= this.memory.buffer.byteLength)) {
      throw new RangeError(`${what}: [${ptr}, ${ptr}+${bytes}) is outside engine memory ` +
        `(${this.memory.buffer.byteLength} bytes); allocate it with engine.alloc()`);
    }
  }
  private checkF32(len: number, what: string, ...ptrs: Ptr[]): void {
    check(isCount(len), `${what}: length ${len} must be a non-negative integer`);
    for (const p of ptrs) {
      this.checkRange(p, len * 4, what);
      check(p % 4 === 0, `${what}: f32 buffer at ${p} must be 4-byte aligned`);
    }
  }
  private checkQ8Shape(n: number, cols: number, what: string): void {
    check(isCount(n), `${what}: n must be a non-negative integer, got ${n}`);
    check(Number.isInteger(cols) && cols > 0 && cols % 32 === 0, `${what}: cols must be a positive multiple of 32, got ${cols}`);
  }
  private checkRows(t: Q1Tensor, row0: number, nRows: number, what: string): void {
    check(Number.isInteger(row0) && isCount(nRows) && row0 >= 0 && row0 + nRows <= t.rows,
      `${what}: rows [${row0}, ${row0 + nRows}) outside the tensor's ${t.rows} rows`);
  }
  private checkPair(t: Q1Tensor, r: number, g: number, what: string): void {
    check(Number.isInteger(r) && r >= 0 && r < t.rows && Number.isInteger(g) && g >= 0 && g < t.groups,
      `${what}: flip (row ${r}, group ${g}) outside the tensor's ${t.rows} rows x ${t.groups} groups`);
  }
  private checkMatmulQ1(t: Q1Tensor, xq: Ptr, n: number, y: Ptr, flips: FlipSet | undefined,
    row0: number, row1: number, what: string): void {
    this.checkRange(t.ptr, t.bytes, `${what} weights`);
    this.checkRange(xq, this.q8Bytes(n, t.cols), `${what} xq`);
    this.checkF32(n * t.rows, `${what} y`, y);
    check(Number.isInteger(row0) && Number.isInteger(row1) && row0 >= 0 && row0 <= row1 && row1 <= t.rows,
      `${what}: row range [${row0}, ${row1}) must lie within [0, ${t.rows}]`);
    if (flips && (flips.nRows > 0 || flips.nPairs > 0)) {
      for (const r of this.i32(flips.rowsPtr, flips.nRows)) this.checkRows(t, r, 1, `${what} flips`);
      const p = this.i32(flips.pairsPtr, flips.nPairs * 2);
      for (let i = 0; i < flips.nPairs; i++) {
        this.checkPair(t, p[2 * i], p[2 * i + 1], `${what} flips`);
        if (i > 0) {
          check(p[2 * i - 2] < p[2 * i] || (p[2 * i - 2] === p[2 * i] && p[2 * i - 1] <= p[2 * i + 1]),
            `${what}: flip pairs must be sorted by (row, group) (pair ${i}); build them with writeFlips`);
        }
      }
    }
  }
  private checkDense(w: Ptr, rows: number, cols: number, elt: number, x: Ptr, n: number, y: Ptr, what: string): void {
    check(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0 && isCount(n),
      `${what}: rows ${rows}, cols ${cols}, n ${n} must be positive integers`);
    this.checkRange(w, rows * cols * elt, `${what} weights`);
    check(w % elt === 0, `${what}: weights at ${w} must be ${elt}-byte aligned`);
    this.checkF32(n * cols, `${what} x`, x);
    this.checkF32(n * rows, `${what} y`, y);
  }
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Offset of the lookup tables inside a Q8 buffer (mirrors assembly/q8.ts). */
function q8LutOffset(n: number, cols: number): number {
  return align(n * cols + n * (cols / 32) * 4, 16);
}
