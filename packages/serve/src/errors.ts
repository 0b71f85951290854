// Errors as OpenAI's API returns them: an HTTP status and
//   { "error": { "message": ..., "type": ..., "param": ..., "code": ... } }
// where `param` names the request field at fault and the message says how to fix it.

import { ChatTemplateError, ContextLengthError, GenerationOptionError } from '@bankai/model';

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault (`temperature`, `messages[0].role`), when there is one. */
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get type(): string {
    if (this.status === 401) return 'authentication_error';
    if (this.status === 404) return 'invalid_request_error';
    if (this.status === 429) return 'rate_limit_error';
    return this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The library's option names as the API spells them. */
const PARAM_OF_OPTION: Record<string, string> = {
  temperature: 'temperature', topK: 'top_k', topP: 'top_p', minP: 'min_p', repetitionPenalty: 'repetition_penalty',
  repetitionLastN: 'repetition_last_n', seed: 'seed', maxTokens: 'max_tokens', stop: 'stop', prompt: 'prompt',
};

/** Any error thrown while serving a request, as an ApiError (unknown errors are 500s). */
export function toApiError(e: unknown, promptParam = 'prompt'): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ContextLengthError) {
    return new ApiError(400, `This model's context is ${e.maxContext} tokens, but the prompt has ${e.promptTokens}. Shorten the ${promptParam} (or start bankai serve with a larger --ctx).`, promptParam, 'context_length_exceeded');
  }
  if (e instanceof GenerationOptionError) {
    const base = e.option.replace(/\[.*$/, '');
    const param = (PARAM_OF_OPTION[base] ?? base) + e.option.slice(base.length);
    return new ApiError(400, `${param}: ${e.problem}. Fix: ${e.fix}.`, param, 'invalid_value');
  }
  if (e instanceof Error && e.name === 'AbortedWhileQueued') return new ApiError(499, 'The client closed the request before its turn.', null, 'client_closed_request');
  if (e instanceof ChatTemplateError) return new ApiError(400, e.message, 'messages', 'chat_template_error');
  return new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)} (please report it)`, null, 'internal_error');
}
