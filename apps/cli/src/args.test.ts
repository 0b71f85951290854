// Flag parsing: every way to turn a boolean off, numbers, lists, and the errors that name the flag.
import { describe, expect, it } from 'vitest';
import { CliError, formatHelp, parseFlags, type CommandSpec } from './args.js';

const spec: CommandSpec = {
  summary: 's', usage: 'u',
  flags: {
    'own-answers': { type: 'boolean', help: 'h', default: true },
    iters: { type: 'number', help: 'h', default: 40 },
    target: { type: 'list', help: 'h' },
  },
};

describe('parseFlags', () => {
  it('turns a boolean that defaults to true off as --no-x, --x=false and --x false', () => {
    expect(parseFlags('search', spec, [])['own-answers']).toBe(true);
    for (const argv of [['--no-own-answers'], ['--own-answers=false'], ['--own-answers', 'false']]) {
      expect(parseFlags('search', spec, argv)['own-answers'], argv.join(' ')).toBe(false);
    }
    expect(parseFlags('search', spec, ['--own-answers', 'true', '--iters', '3'])).toMatchObject({ 'own-answers': true, iters: 3 });
    // a bare boolean does not swallow the next flag
    expect(parseFlags('search', spec, ['--own-answers', '--iters', '5'])).toMatchObject({ 'own-answers': true, iters: 5 });
  });

  it('collects lists and names the flag in errors', () => {
    expect(parseFlags('search', spec, ['--target', 'a', '--target=b']).target).toEqual(['a', 'b']);
    expect(() => parseFlags('search', spec, ['--iters', 'x'])).toThrow(CliError);
    expect(() => parseFlags('search', spec, ['--iters', 'x'])).toThrow(/--iters must be a number, got "x"/);
    expect(() => parseFlags('search', spec, ['--own-answers=maybe'])).toThrow(/--own-answers takes no value/);
    expect(() => parseFlags('search', spec, ['--bogus'])).toThrow(/unknown flag --bogus/);
  });

  it('reads an alias as its flag (one name per concept, old names kept), in help too', () => {
    const aliased: CommandSpec = {
      summary: 's', usage: 'u',
      flags: {
        base: { type: 'string', value: 'FILE', help: 'h', aliases: ['model'] },
        probes: { type: 'list', help: 'h', aliases: ['target'] },
        quiet: { type: 'boolean', help: 'h', aliases: ['silent'] },
      },
    };
    expect(parseFlags('x', aliased, ['--model', 'm.gguf', '--target', 'a', '--probes=b', '--silent'])).toEqual({ base: 'm.gguf', probes: ['a', 'b'], quiet: true });
    expect(parseFlags('x', aliased, ['--no-silent']).quiet).toBe(false);
    expect(formatHelp('x', aliased)).toContain('--base, --model FILE');
  });
});
