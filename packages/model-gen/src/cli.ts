#!/usr/bin/env node
// node packages/model-gen/dist/cli.js --preset tiny --out /tmp/tiny.gguf [--weights q1_0|f32|f16]
//   [--seed N] [--vocab N] [--layers N] [--tied | --untied] [--name NAME]
import { parseArgs } from 'node:util';
import { writeQwen3File } from './node.js';
import { presetOptions, PRESETS, type PresetName, type WeightFormat } from './qwen3.js';

const USAGE = `usage: node cli.js --preset <${Object.keys(PRESETS).join('|')}> --out <file.gguf>
  [--weights q1_0|f32|f16] [--seed N] [--vocab N] [--layers N] [--tied|--untied] [--name NAME]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string' },
      seed: { type: 'string' }, vocab: { type: 'string' }, layers: { type: 'string' },
      tied: { type: 'boolean' }, untied: { type: 'boolean' }, name: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.preset || !values.out) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  if (!(values.preset in PRESETS)) {
    console.error(`--preset ${values.preset} is unknown.\n${USAGE}`);
    process.exit(2);
  }
  const int = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) {
      console.error(`--${flag} ${v} is not a non-negative integer`);
      process.exit(2);
    }
    return n;
  };
  const o = presetOptions(values.preset as PresetName);
  const seed = int('seed', values.seed);
  const vocab = int('vocab', values.vocab);
  const layers = int('layers', values.layers);
  if (seed !== undefined) o.seed = seed;
  if (vocab !== undefined) o.vocab = vocab;
  if (layers !== undefined) o.nLayer = layers;
  if (values.weights) o.weights = values.weights as WeightFormat;
  if (values.tied) o.tied = true;
  if (values.untied) o.tied = false;
  if (values.name) o.name = values.name;
  const t0 = Date.now();
  const r = await writeQwen3File(values.out, o);
  console.log(`${values.out}: ${r.tensors.length} tensors, ${r.bytesWritten} bytes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
