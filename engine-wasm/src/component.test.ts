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

// A host without component-model support (wasmer, a core-wasm runtime, another language) can run
// the core module build/component/bankai-engine.core.wasm by speaking the canonical ABI itself,
// as README.md describes. This is that host, in plain WebAssembly JS API calls, checked against
// the jco bindings.
describe('the core module driven through the canonical ABI by hand', () => {
  it('loads the tiny model, tokenizes, scores and frees its results like the jco bindings', async () => {
    const gguf = readFileSync(new URL('../../packages/tiny-model/model/bankai-tiny-q1_0.gguf', import.meta.url));
    const reps: number[] = [];
    const core = new WebAssembly.Module(build('component/bankai-engine.core.wasm'));
    const instance = new WebAssembly.Instance(core, {
      [`[export]${IFACE}`]: { '[resource-new]model': (rep: number) => reps.push(rep) }, // handle = index + 1
    });
    const x = instance.exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
    const view = () => new DataView(x.memory.buffer);
    const put = (bytes: Uint8Array) => {
      const p = x.cabi_realloc!(0, 0, 4, bytes.length);
      new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
      return [p, bytes.length];
    };
    const call = (name: string, ...args: number[]) => x[`${IFACE}#${name}`]!(...args);
    const post = (name: string, ret: number) => x[`cabi_post_${IFACE}#${name}`]!(ret);

    // [static]model.load(list<u8>) -> result<own<model>, string>: (disc u8, handle i32 at 4)
    let ret = call('[static]model.load', ...put(gguf));
    expect(view().getUint8(ret)).toBe(0);
    const rep = reps[view().getInt32(ret + 4, true) - 1]!;
    post('[static]model.load', ret);

    // [method]model.tokenize(self, string) -> list<u32>: (ptr, len)
    ret = call('[method]model.tokenize', rep, ...put(new TextEncoder().encode('Q: what is 12+7? A:')));
    const [tp, tn] = [view().getUint32(ret, true), view().getUint32(ret + 4, true)];
    const tokens = Array.from(new Uint32Array(x.memory.buffer.slice(tp, tp + tn * 4)));
    post('[method]model.tokenize', ret);

    // [method]model.logprobs(self, list<u32>) -> result<list<list<f32>>, string>
    // (a list's length counts elements: bytes / 4 for u32)
    const [lp] = put(new Uint8Array(Uint32Array.from(tokens).buffer));
    ret = call('[method]model.logprobs', rep, lp!, tokens.length);
    expect(view().getUint8(ret)).toBe(0);
    const [rows, n] = [view().getUint32(ret + 4, true), view().getUint32(ret + 8, true)];
    const logprobs = Array.from({ length: n }, (_, i) => {
      const [p, len] = [view().getUint32(rows + 8 * i, true), view().getUint32(rows + 8 * i + 4, true)];
      return new Float32Array(x.memory.buffer.slice(p, p + 4 * len));
    });
    post('[method]model.logprobs', ret);

    // an err: (disc 1, message ptr, len)
    ret = call('[method]model.logprobs', rep, ...put(new Uint8Array(0)));
    expect(view().getUint8(ret)).toBe(1);
    const [mp, ml] = [view().getUint32(ret + 4, true), view().getUint32(ret + 8, true)];
    expect(new TextDecoder().decode(new Uint8Array(x.memory.buffer, mp, ml))).toBe('logprobs: no tokens');
    post('[method]model.logprobs', ret);

    // every call frees what it allocated: after a warm-up, 300 more calls do not grow the memory
    const oneRound = () => {
      const [sp, sl] = put(new TextEncoder().encode('Q: what is 12+7? A: 19'));
      const r1 = call('[method]model.tokenize', rep, sp!, sl!);
      const [p1, n1] = [view().getUint32(r1, true), view().getUint32(r1 + 4, true)];
      const ids = new Uint8Array(x.memory.buffer.slice(p1, p1 + 4 * n1));
      post('[method]model.tokenize', r1);
      const [ip] = put(ids);
      const r2 = call('[method]model.logprobs', rep, ip!, n1);
      post('[method]model.logprobs', r2);
      const [gp, gl] = put(new TextEncoder().encode('Q: what is 2+2? A:'));
      post('[method]model.generate', call('[method]model.generate', rep, gp!, gl!, 8));
      post('[method]model.info', call('[method]model.info', rep));
    };
    for (let i = 0; i < 100; i++) oneRound();
    const pages = x.memory.buffer.byteLength;
    for (let i = 0; i < 300; i++) oneRound();
    expect(x.memory.buffer.byteLength).toBe(pages);
    x[`${IFACE}#[dtor]model`]!(rep);

    const { engine } = await import('../build/component/bankai-engine.js');
    const m = engine.Model.load(gguf);
    expect(tokens).toEqual(Array.from(m.tokenize('Q: what is 12+7? A:')));
    const want = m.logprobs(Uint32Array.from(tokens));
    expect(logprobs.length).toBe(want.length);
    logprobs.forEach((row, i) => expect(Buffer.from(row.buffer).equals(Buffer.from(want[i]!.buffer, want[i]!.byteOffset, want[i]!.byteLength)), `row ${i}`).toBe(true));
    m[Symbol.dispose]();
  });
});
