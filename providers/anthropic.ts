/**
 * Anthropic Messages (`/v1/messages`, JSON or SSE), `count_tokens` (not a generation) and the legacy
 * `/v1/complete`. Anthropic's `input_tokens` excludes cache reads and writes; semconv input includes
 * them, so they are added. Stream usage: `message_start` then cumulative `message_delta` (present fields
 * override).
 */
import type {
  Frame,
  Framing,
  OutputSignal,
  ParsedRequest,
  ParsedResponse,
  ParseOptions,
  ProviderAdapter,
  ResponseHead,
  ResponseParser,
} from '../src/adapter.ts';
import { defineAdapter, parseJsonObject } from '../src/adapter.ts';
import type { CapturedContent, Operation, RequestFacts, RequestParams } from '../src/record.ts';
import { AnthropicBody, AnthropicRequest } from './anthropic-schemas.ts';
import { AnthropicEvents, readAnthropicUsage } from './anthropic-stream.ts';
import {
  API,
  apiOf,
  arr,
  contentTypeIs,
  definedOnly,
  type Json,
  obj,
  str,
  trimPath,
  type WithApi,
} from './common.ts';
import {
  ContentBudget,
  captured,
  jsonText,
  type Message,
  type Part,
  responseBudget,
  StreamedText,
  textPart,
} from './content.ts';
import { blockOnFinish } from './safety.ts';
import { read } from './schema.ts';
import { codeLike, ResponseState } from './state.ts';

const operationOf = (path: string): Operation | undefined => {
  const bare = trimPath(path);
  if (bare.endsWith('/messages/count_tokens')) return 'count_tokens';
  if (bare.endsWith('/messages')) return 'chat';
  if (bare.endsWith('/complete')) return 'text_completion';
  return undefined;
};

export const anthropicParams = (rawBody: unknown): RequestParams => {
  const body = read(AnthropicRequest, rawBody) ?? {};
  return definedOnly<RequestParams>({
    temperature: body.temperature,
    topP: body.top_p,
    topK: body.top_k,
    maxTokens: body.max_tokens ?? body.max_tokens_to_sample,
    stopSequences: body.stop_sequences,
  });
};

/** Anthropic content blocks → semconv parts. */
export const anthropicParts = (budget: ContentBudget, content: unknown): Part[] => {
  if (typeof content === 'string') return [textPart(budget, content)];
  const parts: Part[] = [];
  for (const item of arr(content) ?? []) {
    const block = obj(item);
    const type = str(block?.type) ?? 'unknown';
    if (block === undefined) continue;
    if (type === 'text' && typeof block.text === 'string') parts.push(textPart(budget, block.text));
    else if (type === 'thinking' && typeof block.thinking === 'string') {
      parts.push({ type: 'reasoning', content: budget.take(block.thinking) });
    } else if (type === 'tool_use' || type === 'server_tool_use') {
      parts.push(
        definedOnly<Part>({
          type: 'tool_call',
          id: str(block.id),
          name: str(block.name),
          arguments: jsonText(budget, block.input),
        }),
      );
    } else if (type === 'tool_result') {
      parts.push(
        definedOnly<Part>({
          type: 'tool_call_response',
          id: str(block.tool_use_id),
          response: jsonText(budget, block.content),
        }),
      );
    } else if (type === 'image' || type === 'document') {
      parts.push({ type: 'blob', modality: type === 'image' ? 'image' : 'document' });
    } else parts.push({ type });
  }
  return parts;
};

export const anthropicInput = (body: Json, options: ParseOptions): CapturedContent => {
  const budget = new ContentBudget(options.maxCapturedChars);
  const messages: Message[] = [];
  for (const item of arr(body.messages) ?? []) {
    const message = obj(item);
    if (message !== undefined) {
      messages.push({ role: str(message.role) ?? 'user', parts: anthropicParts(budget, message.content) });
    }
  }
  if (messages.length === 0 && typeof body.prompt === 'string') {
    messages.push({ role: 'user', parts: [textPart(budget, body.prompt)] });
  }
  const system = body.system === undefined ? undefined : anthropicParts(budget, body.system);
  return captured(budget, { inputMessages: messages, systemInstructions: system });
};

/** Reads a complete Messages / complete / count_tokens body. */
export const readAnthropicBody = (
  state: ResponseState,
  body: AnthropicBody,
  operation: Operation,
  budget: ContentBudget | undefined,
): Message[] | undefined => {
  state.terminal = true;
  if (body.type === 'error') {
    state.streamError(codeLike(body.error?.type) ?? 'error');
    return undefined;
  }
  // count_tokens only counts: reporting its input_tokens as usage would count tokens never consumed.
  if (operation === 'count_tokens') return undefined;
  state.responseId = body.id;
  state.responseModel = body.model;
  state.finish.set(0, body.stop_reason);
  if (body.usage !== undefined) {
    readAnthropicUsage(state, body.usage, {
      input: undefined,
      cacheRead: undefined,
      cacheCreation: undefined,
    });
  }
  if (budget === undefined) return undefined;
  const parts =
    typeof body.completion === 'string'
      ? [textPart(budget, body.completion)]
      : anthropicParts(budget, body.content);
  return [{ role: 'assistant', parts, finish_reason: body.stop_reason ?? '' }];
};

/** The Messages parser: also used for Claude on Vertex AI (`:rawPredict` / `:streamRawPredict`). */
export class AnthropicParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #operation: Operation;
  readonly #stream: boolean;
  readonly #events: AnthropicEvents;
  readonly #budget: ContentBudget | undefined;
  readonly #text: StreamedText | undefined;
  #output: Message[] | undefined;

  constructor(operation: Operation, stream: boolean, head: ResponseHead, budget: ContentBudget | undefined) {
    this.#state = new ResponseState(head);
    this.#operation = operation;
    this.#stream = stream;
    this.#budget = budget;
    this.#text = budget === undefined || !stream ? undefined : new StreamedText(budget);
    this.#events = new AnthropicEvents(this.#state, this.#text);
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    if (this.#stream && !state.httpError) {
      this.#events.push(frame.event, frame.text, signal);
      return;
    }
    const raw = parseJsonObject(frame.text);
    if (state.httpError) {
      state.terminal = true;
      state.httpErrorBody(raw);
      return;
    }
    const body = read(AnthropicBody, raw);
    if (body === undefined) return;
    if (body.type !== 'error' && this.#operation !== 'count_tokens') signal.output();
    this.#output = readAnthropicBody(state, body, this.#operation, this.#budget);
  }

  finish(): ParsedResponse {
    blockOnAnthropicRefusal(this.#state);
    if (this.#budget === undefined) return this.#state.result();
    const output = this.#text?.messages(this.#state.finish.list()) ?? this.#output;
    return this.#state.result(captured(this.#budget, { outputMessages: output }));
  }
}

/** `stop_reason: refusal`: the model declined (Claude's safety refusal), an output block. */
export const blockOnAnthropicRefusal = (state: ResponseState): void => {
  if (state.finish.size > 0) blockOnFinish(state.finish.list(), () => state.safety(), REFUSAL);
};

const REFUSAL = { refusal: 'refusal' } as const;

export const anthropicFraming = (request: RequestFacts, head: ResponseHead): Framing => {
  if (head.status >= 400) return 'json';
  if (contentTypeIs(head, 'event-stream')) return 'sse';
  return contentTypeIs(head, 'json') || !request.stream ? 'json' : 'sse';
};

export const anthropic = defineAdapter({
  id: 'anthropic',
  providerName: 'anthropic',
  operationFor(target) {
    return target.method.toUpperCase() === 'POST' ? operationOf(target.path) : undefined;
  },
  parseRequest(operation, _target, rawBody, options): WithApi<ParsedRequest> {
    const body = read(AnthropicRequest, rawBody) ?? {};
    const facts = {
      operation,
      requestModel: body.model,
      stream: body.stream === true && operation !== 'count_tokens',
      params: operation === 'count_tokens' ? {} : anthropicParams(rawBody),
      [API]: operation,
    };
    return options.captureContent && operation !== 'count_tokens'
      ? { ...facts, content: anthropicInput(obj(rawBody) ?? {}, options) }
      : facts;
  },
  framing: anthropicFraming,
  createParser(request, head, options) {
    const budget = responseBudget(request, options);
    const stream = anthropicFraming(request, head) === 'sse';
    const operation = (apiOf(request) as Operation | undefined) ?? request.operation;
    return new AnthropicParser(operation, stream, head, budget);
  },
} satisfies ProviderAdapter);
