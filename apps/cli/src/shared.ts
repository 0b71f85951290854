// What every command file shares: the Command type, the flags several commands take, and opening
// a model file. Command files import this and args.ts, never commands.ts (the table that imports
// them all), so the command files form no import cycle.

import { fileSource, sha256File } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { GGUF_FILE, checkInputFile, type CommandSpec, type Flags } from './args.js';

export { sha256File };

export interface Command extends CommandSpec {
  /** A flag the first argument fills when it is not a flag (`bankai report LOG` is `bankai report --log LOG`). */
  positional?: string;
  run(flags: Flags, out: (s: string) => void): Promise<void>;
}

/** --json, as every command that prints a result takes it. */
export const jsonFlag = { type: 'boolean', help: 'print one JSON object instead of text' } as const;
/** --model FILE where a model file is required. */
export const modelFlag = { type: 'string', value: 'FILE', help: 'a Qwen3 GGUF file (Q1_0 1-bit, or F32/F16 weights)' } as const;
/** --model FILE where the shipped tiny model is the default. */
export const modelOrTinyFlag = { type: 'string', value: 'FILE', help: 'a Qwen3 GGUF file (default: the shipped tiny model)' } as const;

export async function openModel(path: string, opts: { maxContext?: number; flag?: string } = {}): Promise<Model> {
  checkInputFile(path, opts.flag ?? 'model', GGUF_FILE);
  const src = await fileSource(path);
  try {
    return await Model.load(src, { maxContext: opts.maxContext });
  } finally {
    await src.close();
  }
}
