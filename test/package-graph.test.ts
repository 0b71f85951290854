// The package dependency graph from the package.json files (scripts/package-graph.mjs): every
// edge goes down the order bytes -> gguf -> model -> probes -> search -> cli (or stays in a layer),
// every published package has a layer, and the README's Layout section shows the script's output.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAYERS, edgesAgainstOrder, mermaid, readPackages, reducedEdges } from '../scripts/package-graph.mjs';

type Pkg = { name: string; dir: string; deps: string[] };
const packages = readPackages() as Pkg[];

describe('the package dependency graph', () => {
  it('has every published package in one layer, and no edge against bytes -> gguf -> model -> probes -> search -> cli', () => {
    const layered = (LAYERS as { name: string; packages: string[] }[]).flatMap((l) => l.packages);
    expect(new Set(layered).size).toBe(layered.length);
    expect([...layered].sort()).toEqual(packages.map((p) => p.name));
    expect((LAYERS as { name: string }[]).map((l) => l.name)).toEqual(['bytes', 'gguf', 'model', 'probes', 'search', 'cli']);
    expect(edgesAgainstOrder(packages)).toEqual([]);
    expect(packages.find((p) => p.name === '@bankai/cli')!.deps).toContain('@bankai/search');
  });

  it('finds an edge against the order, and one to a package in no layer', () => {
    const broken: Pkg[] = packages.map((p) => (p.name === '@bankai/gguf' ? { ...p, deps: ['@bankai/search', '@bankai/unknown'] } : p));
    expect(edgesAgainstOrder(broken)).toEqual([
      { from: '@bankai/gguf', to: '@bankai/search', fromLayer: 1, toLayer: 4 },
      { from: '@bankai/gguf', to: '@bankai/unknown', fromLayer: 1, toLayer: undefined },
    ]);
  });

  it('leaves out exactly the edges a longer path implies', () => {
    const g: Pkg[] = [
      { name: 'a', dir: '', deps: ['b', 'c', 'd'] },
      { name: 'b', dir: '', deps: ['c'] },
      { name: 'c', dir: '', deps: [] },
      { name: 'd', dir: '', deps: [] },
    ];
    expect(reducedEdges(g)).toEqual([['a', 'b'], ['a', 'd'], ['b', 'c']]);
  });

  it('is what the README\'s Layout section shows', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /## Layout[\s\S]*?```mermaid\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README.md: no mermaid block in ## Layout').not.toBeNull();
    expect(block![1]).toBe(`${(mermaid(packages) as string[]).join('\n')}\n`);
  });
});
