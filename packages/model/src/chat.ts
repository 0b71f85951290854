// Chat prompts: the model's own Jinja chat template (GGUF `tokenizer.chat_template`, rendered by
// @huggingface/jinja as transformers renders it), or plain ChatML when the file has none; and
// the reply's <think>...</think> reasoning split from its answer, whole or while streaming.

import { Template } from '@huggingface/jinja';
import type { GgufFile } from '@bankai/gguf';
import { metadataLookup } from './load.js';
import { StopMatcher } from './stream.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An earlier assistant turn's reasoning (Qwen3's template drops it from turns before the last question). */
  reasoningContent?: string;
}

export interface ChatRenderOptions {
  /** End with the assistant's turn opened (default true). */
  addGenerationPrompt?: boolean;
  /** false: ask a Qwen3 model not to think (its template then writes an empty
   *  `<think>\n\n</think>\n\n` block after the generation prompt, as the plain ChatML fallback
   *  does too). Undefined: the template's default (Qwen3: thinking on). */
  enableThinking?: boolean;
  /** More template variables (e.g. a template's own switches). */
  variables?: Record<string, unknown>;
}

/** The chat template does not parse or refuses the conversation (a `raise_exception` in it). */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

/** The GGUF metadata key of a model's chat template. */
export const CHAT_TEMPLATE_KEY = 'tokenizer.chat_template';

/**
 * Plain ChatML, for models whose file carries no template: `<|im_start|>role\ncontent<|im_end|>\n`
 * per message, then `<|im_start|>assistant\n`; with enable_thinking = false, the empty think block
 * Qwen3's template writes.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}" +
  "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

export class ChatTemplate {
  private readonly compiled: Template;

  constructor(
    /** The Jinja source. */
    readonly text: string,
    /** Where it came from: the model file, or the ChatML fallback. */
    readonly source: 'gguf' | 'chatml',
    private readonly specials: { bos_token: string; eos_token: string } = { bos_token: '', eos_token: '' },
  ) {
    try {
      this.compiled = new Template(text);
    } catch (e) {
      throw new ChatTemplateError(`${source === 'gguf' ? CHAT_TEMPLATE_KEY : 'chat template'}: does not parse as Jinja (${(e as Error).message}). Fix: repair the template in the file, or remove it to use plain ChatML`);
    }
  }

  /** The model's template (`tokenizer.chat_template`), else plain ChatML. */
  static fromHeader(header: GgufFile, tokenizer?: Tokenizer): ChatTemplate {
    const value = metadataLookup(header)(CHAT_TEMPLATE_KEY);
    const token = (id: number | undefined) => (tokenizer && id !== undefined ? tokenizer.tokenText(id) : '');
    const specials = { bos_token: token(tokenizer?.bosId), eos_token: token(tokenizer?.eosId) };
    if (typeof value === 'string' && value.trim() !== '') return new ChatTemplate(value, 'gguf', specials);
    return new ChatTemplate(CHATML_TEMPLATE, 'chatml', specials);
  }

  /** The prompt text for a conversation (encode it with parseSpecial so `<|im_start|>` is one token). */
  render(messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
    const vars: Record<string, unknown> = {
      ...this.specials,
      ...opts.variables,
      messages: messages.map((m) => ({ role: m.role, content: m.content, ...(m.reasoningContent !== undefined ? { reasoning_content: m.reasoningContent } : {}) })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    try {
      return this.compiled.render(vars);
    } catch (e) {
      throw new ChatTemplateError(`the chat template refused the conversation: ${(e as Error).message}`);
    }
  }
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';

/** Whether a rendered prompt leaves the reply inside an open `<think>` block (templates that
 *  start the reasoning for the model). */
export function promptOpensThinking(prompt: string): boolean {
  return prompt.lastIndexOf(THINK_OPEN) > prompt.lastIndexOf(THINK_CLOSE);
}

export interface ThinkingDelta {
  reasoning: string;
  content: string;
}

/**
 * Splits a reply into its `<think>...</think>` reasoning and the answer, piece by piece: a reply
 * that opens with `<think>` (after whitespace), or starts inside one (startsInside), has its
 * reasoning up to `</think>` routed to `reasoning`; the newlines after either tag are dropped.
 * A reply without the tag is all content. Partial tags are held back until they are decided.
 */
export class ThinkingSplitter {
  private state: 'start' | 'reasoning-start' | 'reasoning' | 'content-start' | 'content';
  private head = '';
  private readonly closer = new StopMatcher([THINK_CLOSE]);

  constructor(opts: { startsInside?: boolean } = {}) {
    this.state = opts.startsInside ? 'reasoning-start' : 'start';
  }

  push(text: string): ThinkingDelta {
    const out: ThinkingDelta = { reasoning: '', content: '' };
    let rest = text;
    while (rest !== '') {
      if (this.state === 'start') {
        const buf = this.head + rest;
        const lead = buf.length - buf.trimStart().length;
        const body = buf.slice(lead);
        if (body.startsWith(THINK_OPEN)) {
          [this.head, this.state, rest] = ['', 'reasoning-start', body.slice(THINK_OPEN.length)];
        } else if (THINK_OPEN.startsWith(body)) {
          this.head = buf; // whitespace or a partial "<think": undecided
          rest = '';
        } else {
          [this.head, this.state, rest] = ['', 'content', buf];
        }
      } else if (this.state === 'reasoning-start' || this.state === 'content-start') {
        const kept = rest.replace(/^\n+/, '');
        if (kept === '') rest = '';
        else [this.state, rest] = [this.state === 'reasoning-start' ? 'reasoning' : 'content', kept];
      } else if (this.state === 'reasoning') {
        const r = this.closer.push(rest);
        out.reasoning += r.text;
        if (r.stopped === undefined) rest = '';
        else {
          rest = r.after ?? '';
          this.state = 'content-start';
        }
      } else {
        out.content += rest;
        rest = '';
      }
    }
    return out;
  }

  /** Whatever is held back (a partial tag that never completed). */
  end(): ThinkingDelta {
    if (this.state === 'start') {
      const t = this.head;
      this.head = '';
      return { reasoning: '', content: t };
    }
    if (this.state === 'reasoning') return { reasoning: this.closer.end(), content: '' };
    return { reasoning: '', content: '' };
  }
}

/** The whole reply split as ThinkingSplitter splits it piece by piece. */
export function splitThinking(text: string, opts: { startsInside?: boolean } = {}): { reasoning?: string; content: string } {
  const s = new ThinkingSplitter(opts);
  const a = s.push(text);
  const b = s.end();
  const reasoning = a.reasoning + b.reasoning;
  const sawThinking = opts.startsInside || text.trimStart().startsWith(THINK_OPEN);
  return { ...(sawThinking ? { reasoning } : {}), content: a.content + b.content };
}
