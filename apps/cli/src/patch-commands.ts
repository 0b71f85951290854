// The patch commands: `bankai patch-info | patch-convert | patch-stack | patch-diff | patch-verify
// | patch-sign`, `bankai apply` and `bankai bake`. Files live here; the work is done by
// @bankai/patch-format (formats, algebra, diff / verify / bake over ByteSources) and
// @bankai/model (applyPatch on the loaded engine weights).

import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readGguf } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { applyPatch, Model } from '@bankai/model';
import {
  baseShapes,
  bitsFlipped,
  checkPatchForModel,
  computeStats,
  createManifest,
  diffModels,
  flipKind,
  generateSigningKey,
  modelShapeOf,
  oneBitWeightCount,
  overlapReport,
  publicKeyOf,
  signManifest,
  stackPatches,
  verifyManifest,
  verifyPatchedModel,
  withFlips,
  type LoadedPatch,
  type ModelShape,
  type PatchManifest,
  type Provenance,
  type TensorShapes,
} from '@bankai/patch-format';
import { bakePatchFile, readPatchFile, sha256File, writeFileAtomic, writePatchFile, type PatchFileFormat } from '@bankai/patch-format/node';
import { CliError, GGUF_FILE, PATCH_FILE, checkInputFile, positiveInt, requireFlag, requireInputFile, type Flags } from './args.js';
import { jsonFlag, type Command } from './shared.js';

const TOOL_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const flag = {
  model: { type: 'string', value: 'FILE', help: 'the GGUF model the patch is for (checks shapes and the sha256 fingerprint)' },
  patch: { type: 'string', value: 'FILE', help: 'a patch: manifest .json, binary .bkp, or upstream Bankai JSON' },
  out: { type: 'string', value: 'FILE', help: 'output path (written to a temp file, then renamed)' },
  overwrite: { type: 'boolean', help: 'replace an existing output file (never an input)' },
  force: { type: 'boolean', help: 'go on when the patch fingerprint (base sha256 / shapes) does not match the model, or its signature does not hold (loudly); flips outside the model are never forced' },
  'require-signature': { type: 'boolean', help: 'refuse a patch without a valid signature (--force does not override this)' },
  'trusted-key': { type: 'list', value: 'HEX', help: 'an ed25519 public key (64 hex digits) whose signatures you accept; a patch signed by another key is refused (repeatable)' },
  json: jsonFlag,
} as const;

// ---- shared helpers ---------------------------------------------------------------------------

/** The required --name: an existing file (a patch for --patch, else a GGUF model). */
function requireFile(command: string, flags: Flags, name: string): string {
  return requireInputFile(command, flags, name, name === 'patch' ? PATCH_FILE : GGUF_FILE);
}

/** The model's shape from its header, with the file's sha256. */
async function readModelShape(path: string): Promise<ModelShape> {
  const src = await fileSource(path);
  try {
    return modelShapeOf(await readGguf(src), await sha256File(path));
  } finally {
    await src.close();
  }
}

/** Reads a patch; an upstream patch (which records no shapes) is read against the model's
 *  shapes, but never adopts the model's sha256: its fingerprint stays unknown, and says so. */
async function loadPatch(path: string, model?: ModelShape): Promise<LoadedPatch> {
  return readPatchFile(path, model ? { model: { tensors: model.tensors } } : {});
}

function provenance(strategy: string, options: Record<string, string | number | string[]>): Provenance {
  return { tool: 'bankai', toolVersion: TOOL_VERSION, strategy, options, createdAt: new Date().toISOString() };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function outputFormat(command: string, value: unknown): PatchFileFormat | undefined {
  if (value === undefined) return undefined;
  if (value !== 'manifest' && value !== 'upstream' && value !== 'binary') {
    throw new CliError(`bankai ${command}: --as must be manifest, upstream or binary, got "${String(value)}".`);
  }
  return value;
}

/** --trusted-key HEX..., checked. */
function trustedKeysOf(command: string, flags: Flags): string[] {
  const keys = (flags['trusted-key'] as string[] | undefined) ?? [];
  for (const k of keys) if (!/^[0-9a-fA-F]{64}$/.test(k)) throw new CliError(`bankai ${command}: --trusted-key "${k}" is not 64 hex digits (an ed25519 public key).`);
  return keys.map((k) => k.toLowerCase());
}

/** Warnings go with the result; one that let a patch with a broken signature through is also
 *  shouted on stderr, where a script's log keeps it. */
function printWarnings(warnings: readonly string[], out: (s: string) => void): void {
  for (const w of warnings) {
    out(`warning: ${w}`);
    if (/SIGNATURE DOES NOT HOLD/.test(w)) process.stderr.write(`WARNING: ${w}\n`);
  }
}

// ---- patch-info ---------------------------------------------------------------------------------

interface TensorSummary {
  tensor: string;
  rows: number;
  groups: number;
  bits: number;
  bitsFlipped?: number;
}

function describePatch(path: string, loaded: LoadedPatch, model: ModelShape | undefined, trustedKeys: string[]) {
  const m = loaded.manifest;
  const shapes: TensorShapes = model?.tensors ?? baseShapes(m.base);
  const stats = computeStats(m);
  const byTensor = new Map<string, TensorSummary>();
  for (const f of m.flips) {
    let t = byTensor.get(f.tensor);
    if (!t) byTensor.set(f.tensor, (t = { tensor: f.tensor, rows: 0, groups: 0, bits: 0 }));
    const kind = flipKind(f);
    if (kind === 'row') t.rows++;
    else if (kind === 'group') t.groups++;
    else t.bits++;
  }
  for (const t of byTensor.values()) {
    const b = bitsFlipped(m.flips.filter((f) => f.tensor === t.tensor), shapes);
    if (b !== undefined) t.bitsFlipped = b;
  }
  const bits = bitsFlipped(m.flips, shapes);
  const total = model ? oneBitWeightCount(model.tensors) : m.base.oneBitWeights;
  const signature = verifyManifest(m, trustedKeys.length > 0 ? { trustedKeys } : {});
  let fingerprint: string | undefined;
  if (model) {
    try {
      const { warnings } = checkPatchForModel(m, model, { verifySignature: false }); // the signature is reported apart
      fingerprint = warnings.length === 0 ? 'matches the model' : warnings.join('; ');
    } catch (e) {
      fingerprint = `DOES NOT FIT: ${(e as Error).message}`;
    }
  }
  return {
    file: path,
    format: loaded.kind,
    name: m.name,
    base: { model: m.base.model, sha256: m.base.sha256 },
    flips: { total: stats.flips, rows: stats.rowFlips, groups: stats.groupFlips, bits: stats.bitFlips, tensors: stats.tensors },
    bitsFlipped: bits,
    fractionOfModel: bits !== undefined && total ? bits / total : undefined,
    signature: signature.signed
      ? { signed: true, ok: signature.ok, publicKey: signature.publicKey, ...(signature.trusted !== undefined ? { trusted: signature.trusted } : {}), ...(signature.reason ? { reason: signature.reason } : {}) }
      : { signed: false, ok: false },
    fingerprint,
    tensors: [...byTensor.values()],
  };
}

const patchInfo: Command = {
  summary: 'describe patches: flips by kind and tensor, real bits flipped, signature, fingerprint, overlaps',
  usage: 'bankai patch-info --patch FILE [--patch FILE ...] [--model FILE] [--trusted-key HEX ...] [--json]',
  flags: {
    patch: { type: 'list', value: 'FILE', help: 'a patch file (repeat to compare several: their overlaps are listed)' },
    model: { ...flag.model, help: 'the GGUF model: real bits flipped, fraction of the model, and whether the patch fits it' },
    'trusted-key': { type: 'list', value: 'HEX', help: 'an ed25519 public key (64 hex digits) whose signatures you trust (repeatable)' },
    json: flag.json,
  },
  async run(flags, out) {
    const paths = (flags.patch as string[] | undefined) ?? [];
    if (paths.length === 0) throw new CliError('bankai patch-info: --patch is required (repeat it to compare several patches).');
    for (const p of paths) checkInputFile(p, 'patch', PATCH_FILE);
    const trusted = trustedKeysOf('patch-info', flags);
    const model = typeof flags.model === 'string' ? (requireFile('patch-info', flags, 'model'), await readModelShape(flags.model)) : undefined;
    // upstream patches record no shapes: read them against the model when one is given
    const loaded = await Promise.all(paths.map(async (p) => ({ path: p, patch: await loadPatch(p, model) })));
    const infos = loaded.map(({ path, patch }) => describePatch(path, patch, model, trusted));
    const overlaps = [];
    for (let i = 0; i < loaded.length; i++) {
      for (let j = i + 1; j < loaded.length; j++) {
        const a = loaded[i]!.patch.manifest;
        const b = loaded[j]!.patch.manifest;
        const shapes = model?.tensors ?? new Map([...baseShapes(a.base), ...baseShapes(b.base)]);
        const r = overlapReport(a.flips, b.flips, shapes);
        overlaps.push({ a: loaded[i]!.path, b: loaded[j]!.path, sharedRows: r.sharedRows, conflicts: r.conflicts, rows: r.overlaps.map((o) => ({ tensor: o.tensor, row: o.row, kind: o.kind, conflict: o.conflict, sharedBits: o.sharedBits })) });
      }
    }
    if (flags.json) {
      out(JSON.stringify({ patches: infos, overlaps }, null, 2));
      return;
    }
    for (const p of infos) {
      out(`${p.file} (${p.format})${p.name ? `: ${p.name}` : ''}`);
      out(`  flips         ${count(p.flips.total)}: ${count(p.flips.rows)} row, ${count(p.flips.groups)} group, ${count(p.flips.bits)} bit, on ${p.flips.tensors} tensor(s)`);
      out(`  bits flipped  ${p.bitsFlipped === undefined ? 'unknown (the patch records no row lengths: pass --model)' : count(p.bitsFlipped)}` +
        (p.fractionOfModel !== undefined ? ` (${(100 * p.fractionOfModel).toPrecision(3)}% of the model's 1-bit weights)` : ''));
      out(`  base          ${p.base.model ?? ''}${p.base.model ? ', ' : ''}${p.base.sha256 ? `sha256 ${p.base.sha256}` : 'no sha256 recorded'}`);
      if (p.fingerprint !== undefined) out(`  model         ${p.fingerprint}`);
      const s = p.signature as { signed: boolean; ok: boolean; publicKey?: string; trusted?: boolean; reason?: string };
      out(`  signature     ${!s.signed ? 'unsigned' : s.ok ? `valid, key ${s.publicKey}${s.trusted ? ' (trusted)' : ''}` : `NOT OK: ${s.reason}`}`);
      for (const t of p.tensors) {
        out(`    ${t.tensor.padEnd(20)} ${String(t.rows).padStart(5)} row ${String(t.groups).padStart(5)} group ${String(t.bits).padStart(5)} bit   ${t.bitsFlipped === undefined ? '' : `${count(t.bitsFlipped)} bits`}`);
      }
    }
    for (const o of overlaps) {
      out(`overlap ${o.a} x ${o.b}: ${o.sharedRows} shared row(s), ${o.conflicts} conflicting (stacking cancels weights flipped by both)`);
      for (const r of o.rows.slice(0, 20)) out(`    ${r.tensor} row ${r.row}: ${r.kind}${r.conflict ? `, conflict${r.sharedBits !== undefined ? ` (${count(r.sharedBits)} bits)` : ''}` : ''}`);
      if (o.rows.length > 20) out(`    ... and ${o.rows.length - 20} more`);
    }
  },
};

// ---- patch-convert --------------------------------------------------------------------------------

const patchConvert: Command = {
  summary: 'convert a patch between the manifest (.json), binary (.bkp) and upstream Bankai JSON formats',
  usage: 'bankai patch-convert --patch FILE --out FILE [--as manifest|upstream|binary] [--model FILE] [--force] [--overwrite] [--json]',
  flags: {
    patch: flag.patch,
    out: { ...flag.out, help: 'output path: .bkp writes the binary form, .json the manifest (or --as upstream)' },
    as: { type: 'string', value: 'FORMAT', help: 'manifest, upstream or binary (default: from the --out extension; .json = manifest)' },
    model: { ...flag.model, help: 'record the model\'s sha256 and tensor shapes in the patch (and check the patch fits it)' },
    force: flag.force,
    overwrite: flag.overwrite,
    json: flag.json,
  },
  async run(flags, out) {
    const path = requireFile('patch-convert', flags, 'patch');
    const dest = requireFlag('patch-convert', flags, 'out');
    const as = outputFormat('patch-convert', flags.as);
    const model = typeof flags.model === 'string' ? (requireFile('patch-convert', flags, 'model'), await readModelShape(flags.model)) : undefined;
    const loaded = await loadPatch(path, model);
    let manifest = loaded.manifest;
    let warnings: readonly string[] = [];
    if (model) {
      ({ warnings } = checkPatchForModel(manifest, model, { file: path, force: flags.force as boolean | undefined }));
      if (manifest.base.sha256 === undefined) manifest = withFlips(manifest, manifest.flips, model);
    }
    const r = await writePatchFile(dest, manifest, { ...(as ? { as } : {}), overwrite: flags.overwrite === true });
    const n = manifest.flips.length;
    if (flags.json) {
      out(JSON.stringify({ out: dest, format: r.format, bytes: r.bytes, flips: n, from: loaded.kind, signed: manifest.signature !== undefined, warnings: [...warnings] }, null, 2));
      return;
    }
    printWarnings(warnings, out);
    out(`wrote ${dest}: ${r.format}, ${count(r.bytes)} bytes, ${count(n)} flips${n > 0 ? ` (${(r.bytes / n).toFixed(2)} bytes a flip)` : ''} (from ${loaded.kind})`);
  },
};

// ---- patch-stack ----------------------------------------------------------------------------------

const patchStack: Command = {
  summary: 'XOR-stack patches into one (weights flipped by both cancel); lists their overlaps',
  usage: 'bankai patch-stack --patch A --patch B [--patch C ...] --out FILE [--name TEXT] [--overwrite] [--json]',
  flags: {
    patch: { type: 'list', value: 'FILE', help: 'a patch to stack (repeat: at least two)' },
    out: flag.out,
    name: { type: 'string', value: 'TEXT', help: 'name of the stacked patch' },
    overwrite: flag.overwrite,
    json: flag.json,
  },
  async run(flags, out) {
    const paths = (flags.patch as string[] | undefined) ?? [];
    if (paths.length < 2) throw new CliError('bankai patch-stack: pass at least two --patch files.');
    for (const p of paths) checkInputFile(p, 'patch', PATCH_FILE);
    const dest = requireFlag('patch-stack', flags, 'out');
    const patches = await Promise.all(paths.map(async (p) => (await loadPatch(p)).manifest));
    const stacked = stackPatches(patches, {
      provenance: provenance('stack', { inputs: paths.map((p) => basename(p)) }),
      ...(typeof flags.name === 'string' ? { name: flags.name } : {}),
    });
    const shapes = baseShapes(stacked.base);
    const overlaps = [];
    for (let i = 0; i < patches.length; i++) {
      for (let j = i + 1; j < patches.length; j++) {
        const r = overlapReport(patches[i]!.flips, patches[j]!.flips, shapes);
        if (r.sharedRows > 0) overlaps.push({ a: paths[i]!, b: paths[j]!, sharedRows: r.sharedRows, conflicts: r.conflicts });
      }
    }
    const r = await writePatchFile(dest, stacked, { overwrite: flags.overwrite === true });
    const total = patches.reduce((n, p) => n + p.flips.length, 0);
    if (flags.json) {
      out(JSON.stringify({ out: dest, format: r.format, bytes: r.bytes, flips: stacked.flips.length, inputFlips: total, patches: paths, overlaps }, null, 2));
      return;
    }
    for (const o of overlaps) out(`overlap ${o.a} x ${o.b}: ${o.sharedRows} shared row(s), ${o.conflicts} conflicting`);
    out(`wrote ${dest}: ${count(stacked.flips.length)} flips from ${count(total)} in ${patches.length} patches (${r.format}, ${count(r.bytes)} bytes)`);
  },
};

// ---- patch-diff -----------------------------------------------------------------------------------

const patchDiff: Command = {
  summary: 'the patch that turns one GGUF into another of the same shapes (row, group and bit flips)',
  usage: 'bankai patch-diff --model FILE --patched FILE --out FILE [--name TEXT] [--max-flips N] [--overwrite] [--json]',
  flags: {
    model: { type: 'string', value: 'FILE', help: 'the unpatched GGUF model (--base: its old name)', aliases: ['base'] },
    patched: { type: 'string', value: 'FILE', help: 'the patched GGUF (same tensors and shapes; only sign bits may differ)' },
    out: { ...flag.out, help: 'the patch to write (.json manifest or .bkp binary)' },
    name: { type: 'string', value: 'TEXT', help: 'name of the patch' },
    'max-flips': { type: 'number', value: 'N', help: 'give up when the models differ in more flips than this', default: 1 << 22 },
    overwrite: flag.overwrite,
    json: flag.json,
  },
  async run(flags, out) {
    const basePath = requireFile('patch-diff', flags, 'model');
    const patchedPath = requireFile('patch-diff', flags, 'patched');
    const dest = requireFlag('patch-diff', flags, 'out');
    const maxFlips = positiveInt('patch-diff', flags, 'max-flips');
    const a = await fileSource(basePath);
    const b = await fileSource(patchedPath);
    let diff;
    try {
      diff = await diffModels(a, b, { maxFlips });
    } finally {
      await a.close();
      await b.close();
    }
    const sha256 = await sha256File(basePath);
    const manifest = createManifest({
      ...(typeof flags.name === 'string' ? { name: flags.name } : {}),
      provenance: provenance('diff', { patched: basename(patchedPath), patchedSha256: await sha256File(patchedPath) }),
      flips: diff.flips,
      model: { ...diff.shape, sha256 },
    });
    const r = await writePatchFile(dest, manifest, { overwrite: flags.overwrite === true });
    const s = computeStats(manifest);
    if (flags.json) {
      out(JSON.stringify({ out: dest, format: r.format, bytes: r.bytes, flips: s.flips, rowFlips: s.rowFlips, groupFlips: s.groupFlips, bitFlips: s.bitFlips, tensors: s.tensors, hamming: diff.hamming }, null, 2));
      return;
    }
    out(`wrote ${dest}: ${count(s.flips)} flips (${count(s.rowFlips)} row, ${count(s.groupFlips)} group, ${count(s.bitFlips)} bit) on ${s.tensors} tensor(s), ${count(diff.hamming)} bits differ (${r.format}, ${count(r.bytes)} bytes)`);
  },
};

// ---- patch-verify ---------------------------------------------------------------------------------

const patchVerify: Command = {
  summary: 'check that a patched GGUF is its base with exactly the patch applied (Hamming distance and flips)',
  usage: 'bankai patch-verify --model FILE --patched FILE --patch FILE [--json]',
  flags: {
    model: { type: 'string', value: 'FILE', help: 'the unpatched GGUF model (--base: its old name)', aliases: ['base'] },
    patched: { type: 'string', value: 'FILE', help: 'the patched GGUF to check' },
    patch: flag.patch,
    json: flag.json,
  },
  async run(flags, out) {
    const basePath = requireFile('patch-verify', flags, 'model');
    const patchedPath = requireFile('patch-verify', flags, 'patched');
    const patchPath = requireFile('patch-verify', flags, 'patch');
    const baseShape = await readModelShape(basePath);
    const { manifest } = await loadPatch(patchPath, baseShape);
    const a = await fileSource(basePath);
    const b = await fileSource(patchedPath);
    let v;
    try {
      v = await verifyPatchedModel(a, b, manifest);
    } finally {
      await a.close();
      await b.close();
    }
    const problems = [...v.problems];
    if (manifest.base.sha256 !== undefined && manifest.base.sha256 !== baseShape.sha256) {
      problems.unshift(`${patchPath}: base.sha256 is ${manifest.base.sha256} but ${basePath} has sha256 ${baseShape.sha256}`);
    }
    const ok = problems.length === 0;
    if (flags.json) {
      out(JSON.stringify({ ok, expectedBits: v.expectedBits, actualBits: v.actualBits, problems, tensors: v.tensors }, null, 2));
    } else {
      out(`${patchedPath}: ${count(v.actualBits)} bits differ from ${basePath}; ${patchPath} flips ${count(v.expectedBits)}`);
      for (const t of v.tensors) out(`    ${t.tensor.padEnd(20)} expected ${count(t.expectedBits)}, found ${count(t.actualBits)}${t.mismatchedBits > 0 ? `, ${count(t.mismatchedBits)} DISAGREE` : ''}`);
      if (ok) out('ok: the patched file is the base with exactly this patch applied');
    }
    if (!ok) throw new CliError(`verify failed: ${problems.join('; ')}`);
  },
};

// ---- patch-sign -----------------------------------------------------------------------------------

function readSecretKey(path: string): Uint8Array {
  checkInputFile(path, 'key', 'a key file (64 hex digits; --new-key creates one)');
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new CliError(`${path}: not an ed25519 secret key (expected 64 hex digits on one line). Create one with --new-key.`);
  }
  return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const patchSign: Command = {
  summary: 'sign a patch with an ed25519 key (the signature covers its canonical content)',
  usage: 'bankai patch-sign --patch FILE --key KEYFILE --out FILE [--new-key] [--overwrite] [--json]',
  flags: {
    patch: flag.patch,
    key: { type: 'string', value: 'KEYFILE', help: 'file holding the ed25519 secret key as 64 hex digits' },
    'new-key': { type: 'boolean', help: 'create a new key in --key first (refuses to replace an existing key file)' },
    out: { ...flag.out, help: 'the signed patch (.json manifest or .bkp binary; upstream JSON cannot hold a signature)' },
    overwrite: flag.overwrite,
    json: flag.json,
  },
  async run(flags, out) {
    const path = requireFile('patch-sign', flags, 'patch');
    const keyPath = requireFlag('patch-sign', flags, 'key');
    const dest = requireFlag('patch-sign', flags, 'out');
    if (flags['new-key']) {
      if (existsSync(keyPath)) throw new CliError(`${keyPath}: key file exists; --new-key never replaces a key. Drop --new-key to sign with it.`);
      const { secretKey } = generateSigningKey();
      await writeFileAtomic(keyPath, new TextEncoder().encode(`${hex(secretKey)}\n`));
      if (!flags.json) out(`wrote new key ${keyPath} (keep it secret)`);
    } else if (!existsSync(keyPath)) {
      throw new CliError(`${keyPath}: no such key file (--key). Pass --new-key to create one.`);
    }
    const secretKey = readSecretKey(keyPath);
    const { manifest } = await loadPatch(path);
    const signed: PatchManifest = signManifest(manifest, secretKey);
    const r = await writePatchFile(dest, signed, { overwrite: flags.overwrite === true });
    if (flags.json) {
      out(JSON.stringify({ out: dest, format: r.format, bytes: r.bytes, flips: signed.flips.length, publicKey: signed.signature!.publicKey, newKey: flags['new-key'] === true ? keyPath : undefined }, null, 2));
      return;
    }
    out(`wrote ${dest} (${r.format}, ${count(r.bytes)} bytes), signed by public key ${hex(publicKeyOf(secretKey))}`);
  },
};

// ---- apply ----------------------------------------------------------------------------------------

const apply: Command = {
  summary: 'apply a patch to a model in memory: generation before and after, apply / revert time',
  usage: 'bankai apply --model FILE --patch FILE --prompt TEXT [--max-tokens N] [--require-signature] [--trusted-key HEX ...] [--force] [--json]',
  flags: {
    model: flag.model,
    patch: flag.patch,
    prompt: { type: 'string', value: 'TEXT', help: 'the prompt to generate from, before and after the patch' },
    'max-tokens': { type: 'number', value: 'N', help: 'most tokens to generate', default: 32 },
    'require-signature': flag['require-signature'],
    'trusted-key': flag['trusted-key'],
    force: flag.force,
    json: flag.json,
  },
  details: 'A patch that carries a signature is applied only when it holds (by a --trusted-key, when given);\n' +
    '--force applies it anyway, with a warning on stdout and stderr. --require-signature refuses unsigned patches.',
  async run(flags, out) {
    const modelPath = requireFile('apply', flags, 'model');
    const patchPath = requireFile('apply', flags, 'patch');
    const prompt = requireFlag('apply', flags, 'prompt');
    const maxTokens = positiveInt('apply', flags, 'max-tokens');
    const trustedKeys = trustedKeysOf('apply', flags);
    const sha256 = await sha256File(modelPath);
    const src = await fileSource(modelPath);
    let model: Model;
    try {
      model = await Model.load(src, { maxContext: Math.min(4096, contextFor(prompt, maxTokens)) });
    } finally {
      await src.close();
    }
    const { manifest } = await loadPatch(patchPath, modelShapeOf(model.header, sha256));
    const before = model.generate(prompt, { maxTokens });
    const applied = applyPatch(model, manifest, { force: flags.force === true, sha256, file: patchPath, requireSignature: flags['require-signature'] === true, trustedKeys });
    const after = model.generate(prompt, { maxTokens });
    const reverted = applied.revert();
    const again = model.generate(prompt, { maxTokens });
    const restored = again.tokens.length === before.tokens.length && again.tokens.every((t, i) => t === before.tokens[i]);
    const result = {
      prompt, before: before.text, after: after.text, changed: after.text !== before.text, revertRestored: restored,
      flips: applied.flips, bitsFlipped: applied.bitsFlipped, applyMicros: applied.micros, revertMicros: reverted.micros,
      warnings: applied.warnings, forced: flags.force === true,
    };
    if (flags.json) {
      for (const w of applied.warnings) if (/SIGNATURE DOES NOT HOLD/.test(w)) process.stderr.write(`WARNING: ${w}\n`);
      out(JSON.stringify(result, null, 2));
      return;
    }
    printWarnings(applied.warnings, out);
    out(`before: ${prompt}${before.text}`);
    out(`after:  ${prompt}${after.text}${result.changed ? '' : '   (unchanged)'}`);
    out(`applied ${count(applied.flips)} flips (${count(applied.bitsFlipped)} bits) in ${applied.micros.toFixed(1)} us, reverted in ${reverted.micros.toFixed(1)} us; ` +
      `after revert the generation is ${restored ? 'the same as before' : 'DIFFERENT (bug: please report it)'}`);
  },
};

/** Context for prompt + generation (a byte-level tokenizer gives at most one token a byte). */
function contextFor(prompt: string, maxTokens: number): number {
  return new TextEncoder().encode(prompt).length + maxTokens + 8;
}

// ---- bake -----------------------------------------------------------------------------------------

const bake: Command = {
  summary: 'write a new GGUF with the patch applied, byte-identical to the model except the flipped bits',
  usage: 'bankai bake --model FILE --patch FILE --out FILE [--require-signature] [--trusted-key HEX ...] [--force] [--overwrite] [--json]',
  flags: {
    model: flag.model,
    patch: flag.patch,
    out: { ...flag.out, help: 'the patched GGUF to write (never the input file)' },
    'require-signature': flag['require-signature'],
    'trusted-key': flag['trusted-key'],
    force: flag.force,
    overwrite: flag.overwrite,
    json: flag.json,
  },
  details: 'A patch that carries a signature is baked only when it holds (by a --trusted-key, when given);\n' +
    '--force bakes it anyway, with a warning on stdout and stderr. --require-signature refuses unsigned patches.\n' +
    'The model is written to a temp file beside --out and renamed when whole: an interrupted bake leaves nothing.',
  async run(flags, out) {
    const modelPath = requireFile('bake', flags, 'model');
    const patchPath = requireFile('bake', flags, 'patch');
    const dest = requireFlag('bake', flags, 'out');
    const trustedKeys = trustedKeysOf('bake', flags);
    const shape = await readModelShape(modelPath);
    const { manifest } = await loadPatch(patchPath, shape);
    const r = await bakePatchFile(modelPath, manifest, dest, {
      force: flags.force === true, overwrite: flags.overwrite === true, sha256: shape.sha256, patchFile: patchPath,
      requireSignature: flags['require-signature'] === true, trustedKeys,
    });
    if (flags.json) {
      for (const w of r.warnings) if (/SIGNATURE DOES NOT HOLD/.test(w)) process.stderr.write(`WARNING: ${w}\n`);
      out(JSON.stringify({ out: dest, ...r, warnings: [...r.warnings] }, null, 2));
      return;
    }
    printWarnings(r.warnings, out);
    out(`wrote ${dest}: ${count(r.bitsFlipped)} bits flipped in ${count(r.editedRows)} rows; otherwise byte-identical to ${modelPath} (${count(r.bytesWritten)} bytes)`);
  },
};

/** The patch commands, for the `commands` table. */
export const patchCommands: Record<string, Command> = {
  'patch-info': patchInfo,
  'patch-convert': patchConvert,
  'patch-stack': patchStack,
  'patch-diff': patchDiff,
  'patch-verify': patchVerify,
  'patch-sign': patchSign,
  apply,
  bake,
};
