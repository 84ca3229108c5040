/**
 * Ollama: the native API (`/api/chat`, `/api/generate`, `/api/embed`, legacy `/api/embeddings`; streaming
 * is the default and is NDJSON whose final `"done":true` line carries the counts) and its OpenAI-compatible
 * `/v1` API (the shared dialect). No response ids.
 */

import type { z } from 'zod';
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
import { API, apiOf, definedOnly, type Json, nonEmptyMember, obj, trimPath, type WithApi } from './common.ts';
import {
  ContentBudget,
  captured,
  type Message,
  responseBudget,
  StreamedText,
  textMessage,
  textPart,
} from './content.ts';
import { createOpenAiParser, openAiApiOf, openAiDialect, openAiFraming } from './openai-dialect.ts';
import { chatMessages, openAiApiFor } from './openai-request.ts';
import { read, zAny, zBoolean, zCount, zFact, zNumber, zObject, zStops } from './schema.ts';
import { ResponseState } from './state.ts';
import { openAiStreamUsage } from './stream-usage.ts';

const NATIVE = 'native';
const NATIVE_PATH = /\/api\/(chat|generate|embed|embeddings)$/;
const NATIVE_OPERATION: Readonly<Record<string, Operation>> = {
  chat: 'chat',
  generate: 'text_completion',
  embed: 'embeddings',
  embeddings: 'embeddings',
};

// Usage injection on the OpenAI-compatible `/v1/chat/completions` only (by path: a native `/api/chat` body
// looks like an OpenAI chat body, and native streams carry their counts anyway).
const dialect = openAiDialect({ id: 'ollama', providerName: 'ollama', injectUsage: false });

const nativeOperation = (path: string): Operation | undefined => {
  const kind = NATIVE_PATH.exec(trimPath(path))?.[1];
  return kind === undefined ? undefined : NATIVE_OPERATION[kind];
};

export const OllamaRequest = zObject({
  model: zFact,
  stream: zBoolean,
  format: zAny,
  options: zObject({
    temperature: zNumber,
    top_p: zNumber,
    top_k: zNumber,
    num_predict: zCount,
    seed: zNumber,
    stop: zStops,
    frequency_penalty: zNumber,
    presence_penalty: zNumber,
  }),
});

/** A response line (or whole body): counts and the done reason are on the final `"done": true` line. */
export const OllamaLine = zObject({
  model: zFact,
  done: zBoolean,
  done_reason: zFact,
  prompt_eval_count: zCount,
  eval_count: zCount,
  error: zAny,
  response: zAny,
  message: zObject({ content: zAny }),
});

const params = (body: NonNullable<z.infer<typeof OllamaRequest>>): RequestParams => {
  const options = body.options ?? {};
  return definedOnly<RequestParams>({
    temperature: options.temperature,
    topP: options.top_p,
    topK: options.top_k,
    maxTokens: options.num_predict,
    seed: options.seed,
    stopSequences: options.stop,
    frequencyPenalty: options.frequency_penalty,
    presencePenalty: options.presence_penalty,
    outputType: body.format === undefined ? undefined : 'json',
  });
};

const inputContent = (body: Json, options: ParseOptions): CapturedContent => {
  const budget = new ContentBudget(options.maxCapturedChars);
  const messages: Message[] =
    typeof body.prompt === 'string'
      ? [{ role: 'user', parts: [textPart(budget, body.prompt)] }]
      : chatMessages(budget, body.messages);
  const system = typeof body.system === 'string' ? [textPart(budget, body.system)] : undefined;
  return captured(budget, { inputMessages: messages, systemInstructions: system });
};

/** A non-empty output member (string, array or object), in one regex scan per line. */
const OUTPUT = nonEmptyMember(['content', 'response', 'tool_calls', 'thinking']);
const FINAL_OR_ERROR = /"done"\s*:\s*true|"error"/;

class OllamaParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #stream: boolean;
  readonly #text: StreamedText | undefined;
  #parsedFirst = false;

  constructor(stream: boolean, head: ResponseHead, budget: ContentBudget | undefined) {
    this.#state = new ResponseState(head);
    this.#stream = stream;
    this.#text = budget === undefined ? undefined : new StreamedText(budget);
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const text = frame.text;
    if (state.httpError) {
      state.terminal = true;
      state.httpErrorBody(parseJsonObject(text));
      return;
    }
    const output = OUTPUT.test(text);
    if (output) signal.output();
    // Content lines repeat the model and carry no counts; parse the first, the last and errors.
    const needed =
      !this.#stream || !this.#parsedFirst || this.#text !== undefined || FINAL_OR_ERROR.test(text);
    if (!needed) return;
    const line = read(OllamaLine, parseJsonObject(text));
    if (line === undefined) return;
    this.#parsedFirst = true;
    if (line.error !== undefined) {
      // Ollama's error is a sentence, not a code.
      state.streamError('_OTHER');
      return;
    }
    state.responseModel ??= line.model;
    if (this.#text !== undefined) {
      const piece = typeof line.response === 'string' ? line.response : line.message?.content;
      if (typeof piece === 'string') this.#text.add(0, piece);
    }
    if (line.done === true || !this.#stream) {
      state.terminal = true;
      state.finish.set(0, line.done_reason);
      state.inputTokens = line.prompt_eval_count;
      state.outputTokens = line.eval_count;
    }
  }

  finish(): ParsedResponse {
    if (this.#text === undefined) return this.#state.result();
    const reason = this.#state.finish.list()[0] ?? '';
    const messages = this.#state.httpError ? [] : this.#text.messages([reason]);
    return this.#state.result(
      captured(this.#text.budget, {
        outputMessages: messages.length > 0 ? messages : [textMessage('assistant', '', reason)],
      }),
    );
  }
}

const ollamaFraming = (request: RequestFacts, head: ResponseHead): Framing => {
  if (apiOf(request) !== NATIVE) return openAiFraming(request, head);
  return head.status < 400 && request.stream ? 'ndjson' : 'json';
};

export const ollama = defineAdapter({
  id: 'ollama',
  providerName: 'ollama',
  operationFor(target) {
    if (target.method.toUpperCase() !== 'POST') return undefined;
    return nativeOperation(target.path) ?? dialect.operationFor(target);
  },
  parseRequest(operation, target, rawBody, options): WithApi<ParsedRequest> {
    if (nativeOperation(target.path) === undefined) {
      return dialect.parseRequest(operation, target, rawBody, options);
    }
    const body = read(OllamaRequest, rawBody) ?? {};
    const generation = operation === 'chat' || operation === 'text_completion';
    const facts = {
      operation,
      requestModel: body.model,
      // Native generation endpoints stream unless told not to.
      stream: generation && body.stream !== false,
      params: generation ? params(body) : {},
      [API]: NATIVE,
    };
    return options.captureContent && generation
      ? { ...facts, content: inputContent(obj(rawBody) ?? {}, options) }
      : facts;
  },
  framing: ollamaFraming,
  streamUsage: {
    patchRequest: (body, target) =>
      target !== undefined && nativeOperation(target.path) === undefined && openAiApiFor(target) === 'chat'
        ? openAiStreamUsage.patchRequest(body, target)
        : undefined,
    createResponseFilter: openAiStreamUsage.createResponseFilter,
  },
  createParser(request, head, options) {
    const budget = responseBudget(request, options);
    const framing = ollamaFraming(request, head);
    if (apiOf(request) !== NATIVE) return createOpenAiParser(openAiApiOf(request), framing, head, budget);
    return new OllamaParser(framing === 'ndjson', head, budget);
  },
} satisfies ProviderAdapter);
