// The command table as data: every command that prints a result takes --json, and one concept has
// one flag name across commands (the old names are aliases, listed in help).
import { describe, expect, it } from 'vitest';
import { formatHelp, parseFlags } from './args.js';
import { commands } from './commands.js';

describe('the bankai command table', () => {
  it('every command but serve (a server, no result) takes --json', () => {
    const without = Object.entries(commands).filter(([, c]) => c.flags.json?.type !== 'boolean').map(([n]) => n);
    expect(without).toEqual(['serve']);
  });

  it('one name per concept: the model file is --model, target probes accept --target; old names still parse', () => {
    for (const [name, c] of Object.entries(commands)) {
      expect(c.flags.base, `${name} --base`).toBeUndefined();
      for (const f of Object.values(c.flags)) for (const a of f.aliases ?? []) expect(c.flags[a], `${name}: alias --${a} is also a flag`).toBeUndefined();
    }
    for (const name of ['patch-diff', 'patch-verify']) {
      const c = commands[name]!;
      expect(parseFlags(name, c, ['--base', 'a.gguf']).model).toBe('a.gguf');
      expect(parseFlags(name, c, ['--model', 'a.gguf']).model).toBe('a.gguf');
      expect(formatHelp(name, c)).toContain('--model, --base FILE');
      expect(c.usage).toContain('--model FILE');
    }
    expect(parseFlags('eval', commands.eval!, ['--target', 'a.json#S', '--probes', 'b.json']).probes).toEqual(['a.json#S', 'b.json']);
    expect(formatHelp('eval', commands.eval!)).toContain('--probes, --target FILE[#SETS]');
  });
});
