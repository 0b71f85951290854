// Patch algebra. A patch means one thing: an XOR mask over the 1-bit weights. Flips are just a
// way to write that mask down, so compose = XOR of masks = symmetric difference, every patch is
// its own inverse, and normalize() rewrites any flip list into the one canonical list for its
// mask.
//
// Canonical form (per row, for a mask M over the row's G = cols/128 groups):
//   Each 128-bit group mask X is written as nothing (X = 0), a group flip (X = all ones), its
//   set bits as bit flips, or a group flip plus the bits it must not flip, whichever takes
//   fewer flips (ties: plain bit flips). The row is written either as those per-group forms of
//   M, or as a row flip plus the per-group forms of NOT M, whichever takes fewer flips in total
//   (ties: no row flip). So a row flip plus all its group flips cancels to nothing, and 31 of 32
//   groups become the row flip plus one group flip.
//   Without the row length (shape unknown) G is unknown: a row flip is kept as given and the
//   groups are written as above relative to it (everything but the row/complement choice).
// Flips are sorted by compareFlips (tensor, row, row flip, groups, bits).

import { fail, PatchFormatError } from './errors.js';
import {
  bitFlip,
  compareFlips,
  compareTensorNames,
  describeFlip,
  flipKind,
  groupFlip,
  GROUP_SIZE,
  rowFlip,
  type Flip,
} from './flip.js';
import { groupsPerRow, lookupShape, type TensorShapes } from './shape.js';

/** 128-bit mask of one group: 4 x u32, bit b of the group is word b>>5, bit b&31. */
type GroupMask = Uint32Array;

interface RowMask {
  /** Parity of whole-row flips. */
  flipped: boolean;
  /** Group masks relative to the row flip (only non-zero ones matter). */
  readonly groups: Map<number, GroupMask>;
}

/** tensor -> row -> mask */
type MaskSet = Map<string, Map<number, RowMask>>;

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function popcount128(m: GroupMask): number {
  return popcount32(m[0]!) + popcount32(m[1]!) + popcount32(m[2]!) + popcount32(m[3]!);
}

function isZero(m: GroupMask): boolean {
  return (m[0]! | m[1]! | m[2]! | m[3]!) === 0;
}

function complement(m: GroupMask | undefined): GroupMask {
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) out[i] = ~(m ? m[i]! : 0) >>> 0;
  return out;
}

/** Checks that a flip lies inside its tensor when the tensor's shape is known. */
function checkInShape(flip: Flip, index: number, shapes: TensorShapes | undefined): void {
  const shape = lookupShape(shapes, flip.tensor);
  if (!shape) return;
  const where = { path: `flips[${index}]` };
  if (flip.row >= shape.rows) {
    fail(where, `${describeFlip(flip)}: row ${flip.row} is out of range, ${flip.tensor} has rows 0..${shape.rows - 1}`,
      'this patch was made for a model with other shapes: use the patch for this model');
  }
  if (flip.group !== undefined && flip.group >= groupsPerRow(shape)) {
    fail(where, `${describeFlip(flip)}: group ${flip.group} is out of range, ${flip.tensor} rows have groups 0..${groupsPerRow(shape) - 1} (${shape.cols} weights)`,
      'this patch was made for a model with other shapes: use the patch for this model');
  }
  if (flip.bit !== undefined && flip.bit >= shape.cols) {
    fail(where, `${describeFlip(flip)}: bit ${flip.bit} is out of range, ${flip.tensor} rows have bits 0..${shape.cols - 1}`,
      'this patch was made for a model with other shapes: use the patch for this model');
  }
}

function toMasks(flips: readonly Flip[], shapes: TensorShapes | undefined): MaskSet {
  const masks: MaskSet = new Map();
  flips.forEach((flip, i) => {
    checkInShape(flip, i, shapes);
    let rows = masks.get(flip.tensor);
    if (!rows) masks.set(flip.tensor, (rows = new Map()));
    let row = rows.get(flip.row);
    if (!row) rows.set(flip.row, (row = { flipped: false, groups: new Map() }));
    const kind = flipKind(flip);
    if (kind === 'row') {
      row.flipped = !row.flipped;
      return;
    }
    const g = kind === 'group' ? flip.group! : Math.floor(flip.bit! / GROUP_SIZE);
    let m = row.groups.get(g);
    if (!m) row.groups.set(g, (m = new Uint32Array(4)));
    if (kind === 'group') {
      for (let w = 0; w < 4; w++) m[w] = ~m[w]! >>> 0;
    } else {
      const b = flip.bit! % GROUP_SIZE;
      m[b >>> 5] = (m[b >>> 5]! ^ (1 << (b & 31))) >>> 0;
    }
  });
  return masks;
}

/** Flips needed to write one group mask (see the canonical form above). */
function groupCost(m: GroupMask): number {
  const k = popcount128(m);
  if (k === 0) return 0;
  if (k === GROUP_SIZE) return 1;
  return Math.min(k, 1 + GROUP_SIZE - k);
}

function emitGroup(out: Flip[], tensor: string, row: number, g: number, m: GroupMask): void {
  const k = popcount128(m);
  if (k === 0) return;
  const asGroup = k === GROUP_SIZE || 1 + GROUP_SIZE - k < k;
  if (asGroup) out.push(groupFlip(tensor, row, g));
  if (k === GROUP_SIZE) return;
  // the bits to write: the set bits, or (after a group flip) the bits that must stay
  for (let b = 0; b < GROUP_SIZE; b++) {
    const set = ((m[b >>> 5]! >>> (b & 31)) & 1) === 1;
    if (set !== asGroup) out.push(bitFlip(tensor, row, g * GROUP_SIZE + b));
  }
}

function emitRow(out: Flip[], tensor: string, row: number, mask: RowMask, groups: number | undefined): void {
  const present = [...mask.groups.keys()].sort((a, b) => a - b);
  if (groups === undefined) {
    // Row length unknown: keep the row flip as given, write the groups relative to it.
    if (mask.flipped) out.push(rowFlip(tensor, row));
    for (const g of present) emitGroup(out, tensor, row, g, mask.groups.get(g)!);
    return;
  }
  // The row's real mask, group by group: M_g = flipped ? NOT P_g : P_g. Groups absent from P
  // (P_g = 0) are all zero in M when the row is not flipped, all ones when it is; they cost 0
  // in one writing and 1 group flip each in the other. Work is O(present groups), never
  // O(row length): a huge recorded shape cannot make this loop long.
  const absent = groups - present.length;
  let costOfP = 0; // writing the P_g as they are
  let costOfNotP = 0; // writing NOT P_g
  for (const g of present) {
    const p = mask.groups.get(g)!;
    costOfP += groupCost(p);
    costOfNotP += groupCost(complement(p));
  }
  // plain: write M (= P, or NOT P with absent groups as group flips when the row is flipped)
  const costPlain = mask.flipped ? costOfNotP + absent : costOfP;
  // with a row flip: write NOT M (= NOT P with absent groups as group flips, or P)
  const costFlipped = 1 + (mask.flipped ? costOfP : costOfNotP + absent);
  const withRowFlip = costFlipped < costPlain;
  if (withRowFlip) out.push(rowFlip(tensor, row));
  // the per-group masks written: P itself when (flipped == withRowFlip), else NOT P
  const invert = mask.flipped !== withRowFlip;
  for (const g of present) {
    const p = mask.groups.get(g)!;
    emitGroup(out, tensor, row, g, invert ? complement(p) : p);
  }
  if (invert && absent > 0) {
    // chosen only when cheaper, so `absent` is bounded by the flips given
    for (let g = 0; g < groups; g++) if (!mask.groups.has(g)) out.push(groupFlip(tensor, row, g));
  }
}

/** The canonical flip list of the XOR mask the flips describe (see the top of this file).
 *  Pass the tensor shapes to cancel a row flip against all its groups; flips outside a known
 *  shape are an error. */
export function normalize(flips: readonly Flip[], shapes?: TensorShapes): Flip[] {
  const masks = toMasks(flips, shapes);
  const out: Flip[] = [];
  const tensors = [...masks.keys()].sort(compareTensorNames);
  for (const tensor of tensors) {
    const rows = masks.get(tensor)!;
    const shape = lookupShape(shapes, tensor);
    const groups = shape ? groupsPerRow(shape) : undefined;
    for (const row of [...rows.keys()].sort((a, b) => a - b)) {
      emitRow(out, tensor, row, rows.get(row)!, groups);
    }
  }
  return out.sort(compareFlips); // a row's bit flips were emitted group by group
}

/** XOR of patches (symmetric difference of their masks), canonical. compose(a, a) is empty. */
export function compose(patches: readonly (readonly Flip[])[], shapes?: TensorShapes): Flip[] {
  return normalize(patches.flat(), shapes);
}

/** The patch that undoes `flips`: the same mask, since XOR is its own inverse. */
export function inverse(flips: readonly Flip[], shapes?: TensorShapes): Flip[] {
  return normalize(flips, shapes);
}

/** True when two flip lists describe the same mask. */
export function sameMask(a: readonly Flip[], b: readonly Flip[], shapes?: TensorShapes): boolean {
  return compose([a, b], shapes).length === 0;
}

/** True when the list is already canonical (normalize would return it unchanged). */
export function isCanonical(flips: readonly Flip[], shapes?: TensorShapes): boolean {
  const n = normalize(flips, shapes);
  return n.length === flips.length && n.every((f, i) => compareFlips(f, flips[i]!) === 0);
}

/** Exact number of weights the mask flips (the Hamming distance patched <-> base), or
 *  undefined when a row flip's row length is unknown. */
export function bitsFlipped(flips: readonly Flip[], shapes?: TensorShapes): number | undefined {
  const masks = toMasks(flips, shapes);
  let total = 0;
  for (const [tensor, rows] of masks) {
    const shape = lookupShape(shapes, tensor);
    for (const mask of rows.values()) {
      let inGroups = 0;
      for (const m of mask.groups.values()) inGroups += popcount128(m);
      if (!mask.flipped) {
        total += inGroups;
      } else {
        if (!shape) return undefined;
        total += shape.cols - inGroups;
      }
    }
  }
  return total;
}

// ---- views for the engine -------------------------------------------------------------------

export interface TensorFlips {
  readonly tensor: string;
  /** Row flips: (n) sorted row indices. */
  readonly rows: Uint32Array;
  /** Group flips: (n, 2) (row, group) pairs, sorted by row then group. */
  readonly groups: Uint32Array;
  /** Bit flips: (n, 2) (row, bit) pairs, sorted by row then bit. */
  readonly bits: Uint32Array;
}

/** Flips grouped per tensor in canonical tensor order, as sorted typed arrays (what the
 *  engine's xorRows / xorGroups / xorBits take). Does not cancel anything: pass a normalized
 *  list (every XOR is applied as listed). */
export function flipsByTensor(flips: readonly Flip[]): Map<string, TensorFlips> {
  const sorted = [...flips].sort(compareFlips);
  const out = new Map<string, TensorFlips>();
  let i = 0;
  while (i < sorted.length) {
    const tensor = sorted[i]!.tensor;
    let j = i;
    while (j < sorted.length && sorted[j]!.tensor === tensor) j++;
    const slice = sorted.slice(i, j);
    const rows = slice.filter((f) => flipKind(f) === 'row');
    const groups = slice.filter((f) => flipKind(f) === 'group');
    const bits = slice.filter((f) => flipKind(f) === 'bit');
    out.set(tensor, {
      tensor,
      rows: Uint32Array.from(rows, (f) => f.row),
      groups: Uint32Array.from(groups.flatMap((f) => [f.row, f.group!])),
      bits: Uint32Array.from(bits.flatMap((f) => [f.row, f.bit!])),
    });
    i = j;
  }
  return out;
}

/** Rewrites every row flip as the group flips of all its groups (for code that only does group
 *  XORs, or to compare against group-level patches). Group and bit flips pass through. The
 *  result is deliberately not canonical: normalize() turns it back into row flips. Refuses to
 *  produce more than `maxFlips` flips. */
export function rowFlipsToGroupFlips(flips: readonly Flip[], shapes: TensorShapes, maxFlips = 1 << 24): Flip[] {
  const out: Flip[] = [];
  const expanded = flips.reduce((n, f) => {
    const shape = flipKind(f) === 'row' ? lookupShape(shapes, f.tensor) : undefined;
    return n + (shape ? groupsPerRow(shape) : 1);
  }, 0);
  if (expanded > maxFlips) {
    throw new PatchFormatError(`expanding the row flips gives ${expanded} group flips, more than the limit ${maxFlips}`, {
      fix: 'apply row flips as rows, or raise maxFlips if this is really meant',
    });
  }
  flips.forEach((flip, i) => {
    if (flipKind(flip) !== 'row') {
      out.push(flip);
      return;
    }
    const shape = lookupShape(shapes, flip.tensor);
    if (!shape) {
      throw new PatchFormatError(`${describeFlip(flip)}: the shape of ${flip.tensor} is not known`, {
        path: `flips[${i}]`,
        fix: 'pass the model shape (or a manifest whose base.tensors lists this tensor)',
      });
    }
    checkInShape(flip, i, shapes);
    for (let g = 0; g < groupsPerRow(shape); g++) out.push(groupFlip(flip.tensor, flip.row, g));
  });
  return out.sort(compareFlips);
}

// ---- overlap / conflict report ------------------------------------------------------------------

export type OverlapKind = 'row-row' | 'row-group' | 'group-group' | 'same-row';

export interface Overlap {
  readonly tensor: string;
  readonly row: number;
  /** row-row: both flip the whole row; row-group: one flips the row, the other parts of it;
   *  group-group: both flip a common group; same-row: both touch the row, different parts. */
  readonly kind: OverlapKind;
  /** Some weight is flipped by both patches: stacking them cancels it. */
  readonly conflict: boolean;
  /** Weights flipped by both, when the row length is known or no row flip is involved. */
  readonly sharedBits?: number;
  readonly a: readonly Flip[];
  readonly b: readonly Flip[];
}

export interface OverlapReport {
  readonly overlaps: readonly Overlap[];
  /** Rows touched by both patches. */
  readonly sharedRows: number;
  /** Rows where some weight is flipped by both. */
  readonly conflicts: number;
}

/** Rows that two patches both touch, and whether they flip any weight in common. */
export function overlapReport(a: readonly Flip[], b: readonly Flip[], shapes?: TensorShapes): OverlapReport {
  const byRow = (flips: readonly Flip[]): Map<string, Flip[]> => {
    const m = new Map<string, Flip[]>();
    for (const f of flips) {
      const k = `${f.tensor} ${f.row}`;
      const list = m.get(k);
      if (list) list.push(f);
      else m.set(k, [f]);
    }
    return m;
  };
  const rowsA = byRow(normalize(a, shapes));
  const rowsB = byRow(normalize(b, shapes));
  const overlaps: Overlap[] = [];
  for (const [key, fa] of rowsA) {
    const fb = rowsB.get(key);
    if (!fb) continue;
    const { tensor, row } = fa[0]!;
    const ma = toMasks(fa, shapes).get(tensor)!.get(row)!;
    const mb = toMasks(fb, shapes).get(tensor)!.get(row)!;
    const shape = lookupShape(shapes, tensor);
    const groups = shape ? groupsPerRow(shape) : undefined;
    // Shared bits per group: (A_g AND B_g) where X_g = flipped ? NOT P_g : P_g.
    const real = (m: RowMask, g: number): GroupMask => {
      const p = m.groups.get(g);
      return m.flipped ? complement(p) : p ?? new Uint32Array(4);
    };
    const shared = (g: number): number => {
      const x = real(ma, g);
      const y = real(mb, g);
      return popcount32(x[0]! & y[0]!) + popcount32(x[1]! & y[1]!) + popcount32(x[2]! & y[2]!) + popcount32(x[3]! & y[3]!);
    };
    let sharedBits: number | undefined;
    let conflict: boolean;
    const union = new Set([...ma.groups.keys(), ...mb.groups.keys()]);
    if (groups !== undefined) {
      // groups present in neither mask share 128 bits when both rows are flipped, else none
      sharedBits = ma.flipped && mb.flipped ? (groups - union.size) * GROUP_SIZE : 0;
      for (const g of union) sharedBits += shared(g);
      conflict = sharedBits > 0;
    } else if (ma.flipped && mb.flipped) {
      conflict = true; // both flip (nearly) the whole row; the exact count needs the row length
    } else {
      let n = 0;
      for (const g of union) n += shared(g);
      conflict = n > 0;
      if (!ma.flipped && !mb.flipped) sharedBits = n;
    }
    const rowFlipA = fa.some((f) => flipKind(f) === 'row');
    const rowFlipB = fb.some((f) => flipKind(f) === 'row');
    const groupsA = new Set(fa.filter((f) => f.group !== undefined).map((f) => f.group));
    const kind: OverlapKind =
      rowFlipA && rowFlipB ? 'row-row'
        : rowFlipA || rowFlipB ? 'row-group'
          : fb.some((f) => f.group !== undefined && groupsA.has(f.group)) ? 'group-group'
            : 'same-row';
    overlaps.push({ tensor, row, kind, conflict, ...(sharedBits !== undefined ? { sharedBits } : {}), a: fa, b: fb });
  }
  overlaps.sort((x, y) => compareTensorNames(x.tensor, y.tensor) || x.row - y.row);
  return { overlaps, sharedRows: overlaps.length, conflicts: overlaps.filter((o) => o.conflict).length };
}
