// Study (not a test): random bit-flip robustness of a shipped model (--model tiny or small). For
// each size N and seed, N single bits drawn uniformly over every 1-bit weight (embedding and output
// head included) are flipped: the perplexity change on held-out lines of every skill (prompt +
// answer) and the greedy answers changed on the same held-out probes, then the bits are flipped
// back. Upstream (Bonsai 8B): 500K random bits (0.006%) change perplexity by < 1%. The numbers come
// from runRobustness in @bankai/search; this script builds the inputs and prints.
// Usage: npx tsx bench/robustness.ts [--model tiny|small] [--bits 10,100,1000,10000,100000]
//          [--seeds 1,2,3,4,5] [--per-skill 40]
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { shippedModel, shippedProbeSpec, type ShippedModelName } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { formatRobustness, runRobustness } from '@bankai/search';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny' },
    bits: { type: 'string', default: '10,100,1000,10000,100000' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    'per-skill': { type: 'string', default: '40' },
  },
});
const list = (s: string) => s.split(',').map((x) => Number(x.trim()));
const shipped = shippedModel(args.model);
const perSkill = Number(args['per-skill']);
const probes = [];
for (const skill of shipped.skills) probes.push(...(await readProbeFile(shippedProbeSpec(shipped.name as ShippedModelName, skill, 'HELDOUT'))).probes.slice(0, perSkill));
const src = await fileSource(shipped.modelPath);
const model = await Model.load(src);
await src.close();
const r = runRobustness(model, {
  bits: list(args.bits), seeds: list(args.seeds), text: probes.map((p) => p.prompt + p.correct), probes,
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
console.log(`# random bit-flip robustness: ${shipped.name} model (${shipped.modelPath.split('/').pop()}), ${perSkill} HELDOUT probes per skill`);
console.log(formatRobustness(r));
console.log(`\n${r.seconds.toFixed(0)} s; upstream (Bonsai 8B): 500,000 random bits (0.006%) change perplexity by < 1%`);
