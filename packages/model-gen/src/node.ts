import { writeGgufFile } from '@bankai/gguf/node';
import type { GgufWriteResult } from '@bankai/gguf';
import { qwen3WriteSpec, type Qwen3GenOptions } from './qwen3.js';

/** Generates a Qwen3 test model into `path` atomically (temp file + rename). */
export async function writeQwen3File(path: string, options: Qwen3GenOptions): Promise<GgufWriteResult> {
  return writeGgufFile(path, qwen3WriteSpec(options));
}
