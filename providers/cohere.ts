/**
 * Cohere v1 and v2: chat (JSON; v2 streams SSE ending in `message-end`, v1 streams NDJSON ending in
 * `stream-end`), v1 generate, embed and rerank. Token counts are the billed units (semconv: report what
 * is billed; the larger `tokens` figures include Cohere's own preamble). Responses never name the model.
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
import { type Billed, CohereBody, CohereEvent, CohereRequest } from './cohere-schemas.ts';
import { arr, contentTypeIs, definedOnly, type Json, obj, str, trimPath } from './common.ts';
import {
  ContentBudget,
  captured,
  type Message,
  openAiContentParts,
  responseBudget,
  StreamedText,
  textPart,
} from './content.ts';
import { read } from './schema.ts';
import { ResponseState } from './state.ts';

const PATH = /\/v[12]\/(chat|generate|embed|rerank)$/;
const OPERATION: Readonly<Record<string, Operation>> = {
  chat: 'chat',
  generate: 'text_completion',
  embed: 'embeddings',
  rerank: 'rerank',
};

const params = (operation: Operation, rawBody: unknown): RequestParams => {
  const body = read(CohereRequest, rawBody) ?? {};
  if (operation === 'embeddings') {
    const types = body.embedding_types?.filter((item): item is string => item !== undefined);
    return definedOnly<RequestParams>({
      encodingFormats: types !== undefined && types.length > 0 ? types : undefined,
    });
  }
  if (operation === 'rerank') return {};
  const format = body.response_format?.type;
  return definedOnly<RequestParams>({
    temperature: body.temperature,
    topP: body.p,
    topK: body.k,
    maxTokens: body.max_tokens,
    seed: body.seed,
    stopSequences: body.stop_sequences,
    frequencyPenalty: body.frequency_penalty,
    presencePenalty: body.presence_penalty,
    choiceCount: body.num_generations,
    outputType: format === undefined ? undefined : format.includes('json') ? 'json' : 'text',
  });
};

const inputContent = (body: Json, options: ParseOptions): CapturedContent => {
  const budget = new ContentBudget(options.maxCapturedChars);
  const messages: Message[] = [];
  for (const item of arr(body.messages) ?? []) {
    const message = obj(item);
    if (message !== undefined) {
      messages.push({
        role: str(message.role) ?? 'user',
        parts: openAiContentParts(budget, message.content),
      });
    }
  }
  const prompt = typeof body.message === 'string' ? body.message : body.prompt;
  if (typeof prompt === 'string') messages.push({ role: 'user', parts: [textPart(budget, prompt)] });
  const preamble = typeof body.preamble === 'string' ? [textPart(budget, body.preamble)] : undefined;
  return captured(budget, { inputMessages: messages, systemInstructions: preamble });
};

const readBilled = (state: ResponseState, usage: z.infer<typeof Billed>): void => {
  const billed = usage?.billed_units;
  if (billed === undefined) return;
  state.inputTokens = billed.input_tokens;
  state.outputTokens = billed.output_tokens;
};

const sniffType = (text: string): string | undefined => {
  const match = /"(?:type|event_type)"\s*:\s*"([a-z-]+)"/.exec(text.slice(0, 200));
  return match?.[1];
};

class CohereParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #framing: Framing;
  readonly #budget: ContentBudget | undefined;
  readonly #text: StreamedText | undefined;
  #output: Message[] | undefined;

  constructor(framing: Framing, head: ResponseHead, budget: ContentBudget | undefined) {
    this.#state = new ResponseState(head);
    this.#framing = framing;
    this.#budget = budget;
    this.#text = budget === undefined || framing === 'json' ? undefined : new StreamedText(budget);
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    if (state.httpError || this.#framing === 'json') {
      const body = parseJsonObject(frame.text);
      if (state.httpError) state.httpErrorBody(body);
      else if (body !== undefined) this.#body(body, signal);
      // Terminal once a whole JSON answer (or any error body) was read.
      state.terminal = state.httpError || body !== undefined;
      return;
    }
    const type = frame.event ?? sniffType(frame.text);
    if (type === 'content-delta' || type === 'text-generation') {
      signal.output();
      if (this.#text !== undefined) {
        const event = parseJsonObject(frame.text);
        const text = event?.text ?? obj(obj(obj(event?.delta)?.message)?.content)?.text;
        if (typeof text === 'string') this.#text.add(0, text);
      }
      return;
    }
    if (type === 'tool-call-start' || type === 'tool-call-delta') {
      signal.output();
      // v2: the start names the call, the deltas carry pieces of its arguments, both under `index`.
      if (this.#text !== undefined) {
        const event = parseJsonObject(frame.text);
        const call = obj(obj(obj(event?.delta)?.message)?.tool_calls);
        const fn = obj(call?.function);
        const slot = typeof event?.index === 'number' ? event.index : 0;
        this.#text.toolCall(0, slot, { id: call?.id, name: fn?.name, arguments: fn?.arguments });
      }
      return;
    }
    if (type === 'tool-calls-generation') {
      signal.output();
      // v1: every call at once, with its parameters as an object.
      if (this.#text !== undefined) {
        for (const item of arr(parseJsonObject(frame.text)?.tool_calls) ?? []) {
          const call = obj(item);
          if (call !== undefined)
            this.#text.appendToolCall(0, { name: call.name, arguments: call.parameters });
        }
      }
      return;
    }
    if (type === 'tool-plan-delta') {
      signal.output();
      return;
    }
    if (
      type !== 'message-start' &&
      type !== 'stream-start' &&
      type !== 'message-end' &&
      type !== 'stream-end'
    ) {
      return;
    }
    const event = read(CohereEvent, parseJsonObject(frame.text));
    if (event === undefined) return;
    if (type === 'message-start') state.responseId ??= event.id;
    else if (type === 'stream-start') state.responseId ??= event.generation_id;
    else {
      const end = type === 'message-end' ? event.delta : event;
      const reason = end?.finish_reason;
      state.finish.set(0, reason);
      readBilled(state, end?.usage ?? end?.response?.meta);
      const error = end?.error;
      if (error !== undefined && error !== null) state.streamError('ERROR');
      else if (reason === 'ERROR') state.streamError('ERROR');
      state.terminal = true;
    }
  }

  #body(raw: Json, signal: OutputSignal): void {
    const state = this.#state;
    const body = read(CohereBody, raw) ?? {};
    state.responseId = body.id ?? body.response_id;
    const generations = body.generations;
    if (generations !== undefined) {
      generations.forEach((generation, index) => {
        state.finish.set(index, generation?.finish_reason);
      });
    } else state.finish.set(0, body.finish_reason);
    readBilled(state, body.usage ?? body.meta);
    if (body.message !== undefined || body.text !== undefined || generations !== undefined) signal.output();
    if (this.#budget !== undefined) {
      const message = obj(body.message);
      const parts =
        typeof body.text === 'string'
          ? [textPart(this.#budget, body.text)]
          : openAiContentParts(this.#budget, message?.content);
      this.#output = [{ role: 'assistant', parts, finish_reason: body.finish_reason ?? '' }];
    }
  }

  finish(): ParsedResponse {
    if (this.#budget === undefined) return this.#state.result();
    const output = this.#text?.messages(this.#state.finish.list()) ?? this.#output;
    return this.#state.result(captured(this.#budget, { outputMessages: output }));
  }
}

const cohereFraming = (request: RequestFacts, head: ResponseHead): Framing => {
  if (head.status >= 400 || !request.stream) return 'json';
  if (contentTypeIs(head, 'event-stream')) return 'sse';
  if (contentTypeIs(head, 'stream+json') || contentTypeIs(head, 'ndjson')) return 'ndjson';
  return contentTypeIs(head, 'json') ? 'json' : 'sse';
};

export const cohere = defineAdapter({
  id: 'cohere',
  providerName: 'cohere',
  operationFor(target) {
    if (target.method.toUpperCase() !== 'POST') return undefined;
    const kind = PATH.exec(trimPath(target.path))?.[1];
    return kind === undefined ? undefined : OPERATION[kind];
  },
  parseRequest(operation, _target, rawBody, options): ParsedRequest {
    const body = read(CohereRequest, rawBody) ?? {};
    const facts = {
      operation,
      requestModel: body.model,
      stream: body.stream === true,
      params: params(operation, rawBody),
    };
    return options.captureContent && (operation === 'chat' || operation === 'text_completion')
      ? { ...facts, content: inputContent(obj(rawBody) ?? {}, options) }
      : facts;
  },
  framing: cohereFraming,
  createParser(request, head, options) {
    const budget = responseBudget(request, options);
    return new CohereParser(cohereFraming(request, head), head, budget);
  },
} satisfies ProviderAdapter);
