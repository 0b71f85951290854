#!/usr/bin/env node
// The workspace's package dependency graph, read from the package.json files (dependencies and
// peerDependencies between @bankai/* packages; devDependencies are left out: they are not shipped).
// Prints it as a Mermaid flowchart, one subgraph per layer of the order data flows in
// (bytes -> gguf -> model -> probes -> search -> cli), with the edges a shorter path already
// implies left out (--all: every edge). `test/package-graph.test.ts` checks that no package
// depends against that order and that the README's Layout section holds this output.
//
// usage: node scripts/package-graph.mjs [--all]

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The layers, lowest first: a package may depend only on packages of its own layer or a lower one. */
export const LAYERS = [
  { name: 'bytes', packages: ['@bankai/rng', '@bankai/engine-wasm'] },
  { name: 'gguf', packages: ['@bankai/gguf', '@bankai/patch-format', '@bankai/model-gen'] },
  { name: 'model', packages: ['@bankai/model', '@bankai/tiny-model', '@bankai/small-model', '@bankai/serve'] },
  { name: 'probes', packages: ['@bankai/probes'] },
  {
    name: 'search',
    packages: ['@bankai/search', '@bankai/strategy-evolution', '@bankai/strategy-greedy', '@bankai/strategy-guided', '@bankai/strategy-joint', '@bankai/strategy-random', '@bankai/experiments'],
  },
  { name: 'cli', packages: ['@bankai/cli'] },
];

/** Every published workspace package (not private) with its @bankai/* dependencies, sorted by name. */
export function readPackages(root = ROOT) {
  const dirs = [
    'engine-wasm',
    ...['packages', 'strategies', 'apps'].flatMap((top) => readdirSync(join(root, top)).map((d) => `${top}/${d}`)),
  ].filter((d) => existsSync(join(root, d, 'package.json')));
  const out = [];
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    if (pkg.private === true) continue;
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) => d.startsWith('@bankai/')).sort();
    out.push({ name: pkg.name, dir, deps });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The layer index of each package name (undefined: not in LAYERS). */
export function layerOf(name) {
  const i = LAYERS.findIndex((l) => l.packages.includes(name));
  return i < 0 ? undefined : i;
}

/** Edges that go against the order: a package depending on one of a higher layer, or on a package in no layer. */
export function edgesAgainstOrder(packages) {
  const bad = [];
  for (const p of packages) {
    for (const d of p.deps) {
      const from = layerOf(p.name);
      const to = layerOf(d);
      if (from === undefined || to === undefined || to > from) bad.push({ from: p.name, to: d, fromLayer: from, toLayer: to });
    }
  }
  return bad;
}

/** The edges no longer path implies (a -> c is left out when a -> b -> ... -> c exists). */
export function reducedEdges(packages) {
  const deps = new Map(packages.map((p) => [p.name, p.deps]));
  const reaches = (from, to, skipDirect) => {
    const seen = new Set();
    const stack = (deps.get(from) ?? []).filter((d) => !(skipDirect && d === to));
    while (stack.length) {
      const x = stack.pop();
      if (x === to) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...(deps.get(x) ?? []));
    }
    return false;
  };
  return packages.flatMap((p) => p.deps.filter((d) => !reaches(p.name, d, true)).map((d) => [p.name, d]));
}

const id = (name) => name.replace('@bankai/', '').replace(/-/g, '_');

/** The Mermaid flowchart (bottom layer at the bottom), every line of it. */
export function mermaid(packages, { all = false } = {}) {
  const lines = ['flowchart BT'];
  const names = new Set(packages.map((p) => p.name));
  for (const l of LAYERS) {
    const inLayer = l.packages.filter((n) => names.has(n));
    if (inLayer.length === 0) continue;
    lines.push(`  subgraph layer_${l.name} [${l.name}]`);
    for (const n of inLayer) lines.push(`    ${id(n)}[${n.replace('@bankai/', '')}]`);
    lines.push('  end');
  }
  const edges = all ? packages.flatMap((p) => p.deps.map((d) => [p.name, d])) : reducedEdges(packages);
  for (const [a, b] of edges) lines.push(`  ${id(a)} --> ${id(b)}`);
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.some((a) => a !== '--all')) {
    process.stdout.write('usage: node scripts/package-graph.mjs [--all]\n  the @bankai/* dependency graph from the package.json files, as Mermaid (--all: with the edges a longer path implies)\n');
    process.exit(args.includes('--help') ? 0 : 2);
  }
  const packages = readPackages();
  const bad = edgesAgainstOrder(packages);
  process.stdout.write(`${mermaid(packages, { all: args.includes('--all') }).join('\n')}\n`);
  if (bad.length) {
    process.stderr.write(`against the order ${LAYERS.map((l) => l.name).join(' -> ')}:\n${bad.map((e) => `  ${e.from} -> ${e.to}`).join('\n')}\n`);
    process.exit(1);
  }
}
