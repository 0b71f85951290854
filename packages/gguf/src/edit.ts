import { GgufError } from './errors.js';
import { readGguf } from './reader.js';
import type { ByteSource } from './source.js';
import type { ByteSink } from './writer.js';

// ---------------------------------------------------------------------------------------------
// Copy a GGUF file byte for byte, overwriting ranges inside tensors (a baked patch: identical
// except the flipped bits). The header is never re-encoded, so it stays byte-identical.
// ---------------------------------------------------------------------------------------------

export interface TensorByteEdit {
  /** Tensor name as in the file. */
  tensor: string;
  /** Offset inside the tensor's data. */
  byteOffset: number;
  /** Replacement bytes. */
  bytes: Uint8Array;
}

export interface CopyResult {
  bytesWritten: number;
  editedBytes: number;
}

/** Streams `src` to `sink` with `edits` applied. Validates every edit before writing anything. */
export async function copyGgufWithEdits(
  src: ByteSource, edits: readonly TensorByteEdit[], sink: ByteSink, chunkBytes = 4 << 20,
): Promise<CopyResult> {
  const gguf = await readGguf(src);
  // absolute ranges, sorted
  const ranges = edits.map((e, i) => {
    const t = gguf.tensor(e.tensor);
    if (!Number.isSafeInteger(e.byteOffset) || e.byteOffset < 0 || e.byteOffset + e.bytes.length > t.nBytes) {
      throw new GgufError(`edit ${i}: bytes [${e.byteOffset}, ${e.byteOffset + e.bytes.length}) are outside tensor ` +
        `"${e.tensor}" (${t.nBytes} bytes). Fix the edit's offset`, src.name);
    }
    return { start: t.offset + e.byteOffset, bytes: e.bytes };
  }).sort((a, b) => a.start - b.start);
  let editedBytes = 0;
  for (const r of ranges) editedBytes += r.bytes.length;

  let written = 0;
  for (let at = 0; at < src.size; at += chunkBytes) {
    const len = Math.min(chunkBytes, src.size - at);
    const chunk = (await src.read(at, len)).slice();
    for (const r of ranges) {
      const end = r.start + r.bytes.length;
      if (end <= at || r.start >= at + len) continue;
      const from = Math.max(r.start, at);
      const to = Math.min(end, at + len);
      chunk.set(r.bytes.subarray(from - r.start, to - r.start), from - at);
    }
    await sink.write(chunk);
    written += len;
  }
  return { bytesWritten: written, editedBytes };
}
