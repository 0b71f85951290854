// The component build (scripts/build-component.mjs): one core module that imports nothing but
// the canonical resource intrinsics of its own `model` resource (no WASI, no env, no JS glue:
// the host only moves bytes), owns its memory (not shared), and exports exactly the canonical
// ABI names of wit/engine.wit; the component wraps the WIT world `bankai-engine`.
import { readFileSync } from 'node:fs';
import { componentWit } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';

const build = (p: string) => readFileSync(new URL(`../build/${p}`, import.meta.url));
const IFACE = 'bankai:engine/engine';
const METHODS = ['info', 'tokenize', 'detokenize', 'logprobs', 'generate', 'apply-patch', 'revert-patch'];

describe('bankai-engine.component.wasm', () => {
  const core = new WebAssembly.Module(build('component/bankai-engine.core.wasm'));

  it('imports only [resource-new] of its own model resource', () => {
    expect(WebAssembly.Module.imports(core)).toEqual([{ module: `[export]${IFACE}`, name: '[resource-new]model', kind: 'function' }]);
  });

  it('exports its own (unshared) memory, cabi_realloc and every WIT function with its post-return', () => {
    const exports = new Map(WebAssembly.Module.exports(core).map((e) => [e.name, e.kind]));
    expect(exports.get('memory')).toBe('memory');
    expect(exports.get('cabi_realloc')).toBe('function');
    const funcs = [`${IFACE}#[static]model.load`, ...METHODS.map((m) => `${IFACE}#[method]model.${m}`)];
    for (const f of funcs) {
      expect(exports.get(f), f).toBe('function');
      expect(exports.get(`cabi_post_${f}`), `cabi_post_${f}`).toBe('function');
    }
    expect(exports.get(`${IFACE}#[dtor]model`)).toBe('function');
    const instance = new WebAssembly.Instance(core, { [`[export]${IFACE}`]: { '[resource-new]model': (rep: number) => rep } });
    expect((instance.exports.memory as WebAssembly.Memory).buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('is a component of the world in wit/engine.wit', async () => {
    const wit = await componentWit(build('bankai-engine.component.wasm'));
    expect(wit).toMatch(/export bankai:engine\/engine;/);
    const source = readFileSync(new URL('../wit/engine.wit', import.meta.url), 'utf8');
    expect(source).toMatch(/world bankai-engine \{\s*export engine;\s*\}/);
  });
});
