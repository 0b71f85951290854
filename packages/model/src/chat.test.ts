import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource, memorySink, meta, writeGguf } from '@bankai/gguf';
import { presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import { CHAT_TEMPLATE_KEY, ChatTemplate, ChatTemplateError, promptOpensThinking, splitThinking, ThinkingSplitter, type ChatMessage } from './chat.js';
import { Model } from './model.js';

const QWEN3_TEMPLATE = readFileSync(new URL('../testing/qwen3-chat-template.jinja', import.meta.url), 'utf8');
const TINY = new URL('../../tiny-model/model/bankai-tiny-q1_0.gguf', import.meta.url);

/** A small random Qwen3 model whose file carries `template` as tokenizer.chat_template. */
async function modelWithTemplate(template: string): Promise<Model> {
  const spec = qwen3WriteSpec(presetOptions('tiny', { seed: 5 }));
  const sink = memorySink();
  await writeGguf(sink, { ...spec, metadata: [...spec.metadata, [CHAT_TEMPLATE_KEY, meta.string(template)]] });
  return Model.load(bytesSource(sink.bytes(), 'with-template.gguf'), { maxContext: 64 });
}

const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: '<think>\nthey greet me\n</think>\n\nHello!' },
  { role: 'user', content: 'what is 2+2?' },
];

let tiny: Model;
let templated: Model;

beforeAll(async () => {
  tiny = await Model.load(bytesSource(new Uint8Array(readFileSync(TINY)), 'tiny'), { maxContext: 64 });
  templated = await modelWithTemplate(QWEN3_TEMPLATE);
});

describe('chat templates', () => {
  it('uses the GGUF tokenizer.chat_template (a Qwen3 template) as transformers renders it', () => {
    const t = templated.chatTemplate;
    expect(t.source).toBe('gguf');
    // earlier turns lose their reasoning; the generation prompt opens the assistant turn
    const head = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
      '<|im_start|>user\nwhat is 2+2?<|im_end|>\n<|im_start|>assistant\n';
    expect(t.render(conversation)).toBe(head);
    // enable_thinking = false: the empty think block Qwen3 writes
    expect(t.render(conversation, { enableThinking: false })).toBe(head + '<think>\n\n</think>\n\n');
    // an assistant turn after the last user query keeps its reasoning
    expect(t.render([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a', reasoningContent: 'r' }], { addGenerationPrompt: false }))
      .toBe('<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\na<|im_end|>\n');
  });

  it('falls back to plain ChatML when the file has no template (the shipped tiny model)', () => {
    const t = tiny.chatTemplate;
    expect(t.source).toBe('chatml');
    expect(t.render([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }])).toBe('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
    expect(t.render([{ role: 'user', content: 'U' }], { enableThinking: false })).toBe('<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    expect(t.render([{ role: 'user', content: 'U' }], { addGenerationPrompt: false })).toBe('<|im_start|>user\nU<|im_end|>\n');
    expect(tiny.chatTemplate).toBe(t); // parsed once
  });

  it('the rendered prompt encodes <|im_start|> / <|im_end|> as their control tokens with parseSpecial', () => {
    const text = tiny.chatTemplate.render([{ role: 'user', content: 'Q: what is 2+2? A:' }]);
    const ids = tiny.tokenizer.encode(text, { parseSpecial: true });
    const start = tiny.tokenizer.idOfText('<|im_start|>')!;
    const end = tiny.tokenizer.idOfText('<|im_end|>')!;
    expect(ids.filter((t) => t === start)).toHaveLength(2);
    expect(ids.filter((t) => t === end)).toHaveLength(1);
    expect(tiny.tokenizer.encode(text).includes(start)).toBe(false); // without parseSpecial it is plain text
  });

  it('names tokenizer.chat_template when the template does not parse, and reports raise_exception', async () => {
    const broken = await modelWithTemplate('{% for m in messages %}{{ m.content }'); // loads: the template is parsed on first use
    expect(() => broken.chatTemplate).toThrow(ChatTemplateError);
    expect(() => broken.chatTemplate).toThrow(/tokenizer\.chat_template/);
    const refusing = new ChatTemplate("{{ raise_exception('System role not supported') }}", 'gguf');
    expect(() => refusing.render([{ role: 'user', content: 'x' }])).toThrow(/System role not supported/);
  });
});

describe('thinking', () => {
  const reply = '<think>\nLet me add.\n2+2 is 4.\n</think>\n\nThe answer is 4.';

  it('splits reasoning from the answer, whole and at every split point of a stream', () => {
    expect(splitThinking(reply)).toEqual({ reasoning: 'Let me add.\n2+2 is 4.\n', content: 'The answer is 4.' });
    for (let i = 0; i <= reply.length; i++)
      for (let j = i; j <= reply.length; j += 7) {
        const s = new ThinkingSplitter();
        const parts = [reply.slice(0, i), reply.slice(i, j), reply.slice(j)].map((p) => s.push(p));
        parts.push(s.end());
        expect({ i, j, reasoning: parts.map((p) => p.reasoning).join(''), content: parts.map((p) => p.content).join('') })
          .toEqual({ i, j, reasoning: 'Let me add.\n2+2 is 4.\n', content: 'The answer is 4.' });
      }
  });

  it('a reply without <think> is all content; a prompt that opens <think> starts inside it', () => {
    expect(splitThinking(' 84')).toEqual({ content: ' 84' });
    expect(splitThinking('<thin')).toEqual({ content: '<thin' }); // a partial tag that never completed
    expect(splitThinking('<think>\nstill thinking')).toEqual({ reasoning: 'still thinking', content: '' });
    expect(promptOpensThinking('<|im_start|>assistant\n<think>\n')).toBe(true);
    expect(promptOpensThinking('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(false);
    expect(splitThinking('r1\n</think>\n\nanswer', { startsInside: true })).toEqual({ reasoning: 'r1\n', content: 'answer' });
  });
});
