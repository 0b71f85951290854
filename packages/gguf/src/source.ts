// ---------------------------------------------------------------------------------------------
// ByteSource: random access to a file's bytes without loading it. Runtime-neutral; the node
// entry (`@bankai/gguf/node`) provides fileSource(path).
// ---------------------------------------------------------------------------------------------

export interface ByteSource {
  /** Shown in error messages (a path, a URL, "memory"). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset+length). Must return exactly `length` bytes when the range is inside
   * the file. The returned array may be a view that is only valid until the next read.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource over bytes already in memory (no copy). */
export function bytesSource(bytes: Uint8Array, name = 'memory'): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new RangeError(`${name}: read [${offset}, ${offset + length}) is outside 0..${bytes.length}`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}
