/**
 * OpenAI-dialect requests: which API a path is, and the request facts (model, stream, parameters) and
 * optional input content from its JSON body. Shared by every OpenAI-compatible vendor.
 */

import type { z } from 'zod';
import type { ParsedRequest, ParseOptions, RequestTarget } from '../src/adapter.ts';
import type { Operation, RequestParams } from '../src/record.ts';
import { API, arr, definedOnly, type Json, obj, str, trimPath, type WithApi } from './common.ts';
import {
  ContentBudget,
  captured,
  jsonText,
  type Message,
  openAiContentParts,
  type Part,
  textPart,
} from './content.ts';
import { ChatRequest } from './openai-schemas.ts';
import { read } from './schema.ts';

export type OpenAiApi = 'chat' | 'completions' | 'embeddings' | 'responses' | 'images';

const OPERATION: Readonly<Record<OpenAiApi, Operation>> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  responses: 'chat',
  images: 'image_generation',
};

/** The API a path addresses, by its suffix, so any base path (`/v1`, `/openai/v1`, `/api/v1`…) works. */
export const openAiApiFor = (target: RequestTarget): OpenAiApi | undefined => {
  if (target.method.toUpperCase() !== 'POST') return undefined;
  const path = trimPath(target.path);
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completions';
  if (path.endsWith('/embeddings')) return 'embeddings';
  if (path.endsWith('/responses')) return 'responses';
  if (/\/images\/(generations|edits|variations)$/.test(path)) return 'images';
  return undefined;
};

export const operationOf = (api: OpenAiApi): Operation => OPERATION[api];

const outputTypeOf = (type: string | undefined): string | undefined => {
  if (type === 'json_object' || type === 'json_schema') return 'json';
  return type === 'text' ? 'text' : undefined;
};

type Request = NonNullable<z.infer<typeof ChatRequest>>;

export const openAiParams = (api: OpenAiApi, body: Request): RequestParams => {
  if (api === 'embeddings') {
    const format = body.encoding_format;
    return definedOnly<RequestParams>({ encodingFormats: format === undefined ? undefined : [format] });
  }
  if (api === 'images') return definedOnly<RequestParams>({ choiceCount: body.n, outputType: 'image' });
  if (api === 'responses') {
    return definedOnly<RequestParams>({
      temperature: body.temperature,
      topP: body.top_p,
      maxTokens: body.max_output_tokens,
      outputType: outputTypeOf(body.text?.format?.type),
    });
  }
  return definedOnly<RequestParams>({
    temperature: body.temperature,
    topP: body.top_p,
    topK: body.top_k,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    seed: body.seed,
    stopSequences: body.stop,
    frequencyPenalty: body.frequency_penalty,
    presencePenalty: body.presence_penalty,
    choiceCount: body.n,
    outputType: outputTypeOf(body.response_format?.type),
  });
};

const toolCallParts = (budget: ContentBudget, toolCalls: unknown): Part[] => {
  const parts: Part[] = [];
  for (const item of arr(toolCalls) ?? []) {
    const call = obj(item);
    const fn = obj(call?.function);
    if (call === undefined) continue;
    parts.push(
      definedOnly<Part>({
        type: 'tool_call',
        id: str(call.id),
        name: str(fn?.name) ?? str(call.type),
        arguments: fn?.arguments === undefined ? undefined : jsonText(budget, fn.arguments),
      }),
    );
  }
  return parts;
};

/** Chat `messages` → semconv input messages (system messages stay in the history, per semconv). */
export const chatMessages = (budget: ContentBudget, messages: unknown): Message[] => {
  const out: Message[] = [];
  for (const item of arr(messages) ?? []) {
    const message = obj(item);
    if (message === undefined) continue;
    const role = str(message.role) ?? 'user';
    if (role === 'tool') {
      out.push({
        role,
        parts: [
          definedOnly<Part>({
            type: 'tool_call_response',
            id: str(message.tool_call_id),
            response: jsonText(budget, message.content),
          }),
        ],
      });
      continue;
    }
    const parts = [
      ...(message.content === undefined || message.content === null
        ? []
        : openAiContentParts(budget, message.content)),
      ...toolCallParts(budget, message.tool_calls),
    ];
    out.push({ role, parts });
  }
  return out;
};

const responsesInput = (budget: ContentBudget, input: unknown): Message[] => {
  if (typeof input === 'string') return [{ role: 'user', parts: [textPart(budget, input)] }];
  const out: Message[] = [];
  for (const item of arr(input) ?? []) {
    const entry = obj(item);
    if (entry === undefined) continue;
    const type = str(entry.type);
    if (type === 'function_call') {
      out.push({
        role: 'assistant',
        parts: [
          definedOnly<Part>({
            type: 'tool_call',
            id: str(entry.call_id),
            name: str(entry.name),
            arguments: jsonText(budget, entry.arguments),
          }),
        ],
      });
    } else if (type === 'function_call_output') {
      out.push({
        role: 'tool',
        parts: [
          definedOnly<Part>({
            type: 'tool_call_response',
            id: str(entry.call_id),
            response: jsonText(budget, entry.output),
          }),
        ],
      });
    } else {
      out.push({ role: str(entry.role) ?? 'user', parts: openAiContentParts(budget, entry.content) });
    }
  }
  return out;
};

const inputContent = (api: OpenAiApi, body: Json, options: ParseOptions): ParsedRequest['content'] => {
  const budget = new ContentBudget(options.maxCapturedChars);
  if (api === 'chat') return captured(budget, { inputMessages: chatMessages(budget, body.messages) });
  if (api === 'responses') {
    const instructions = typeof body.instructions === 'string' ? body.instructions : undefined;
    return captured(budget, {
      systemInstructions: instructions ? [textPart(budget, instructions)] : undefined,
      inputMessages: responsesInput(budget, body.input),
    });
  }
  if (api === 'completions' && typeof body.prompt === 'string') {
    return captured(budget, { inputMessages: [{ role: 'user', parts: [textPart(budget, body.prompt)] }] });
  }
  return undefined;
};

/** Request facts; `fallbackModel` (Azure's deployment name from the path) applies when the body names none. */
export const parseOpenAiRequest = (
  api: OpenAiApi,
  rawBody: unknown,
  options: ParseOptions,
  fallbackModel?: string,
): WithApi<ParsedRequest> => {
  const body = read(ChatRequest, rawBody) ?? {};
  const facts = {
    operation: OPERATION[api],
    requestModel: body.model ?? fallbackModel,
    stream: body.stream === true,
    params: openAiParams(api, body),
    [API]: api,
  };
  if (!options.captureContent) return facts;
  // Content capture walks the raw messages (arbitrary, provider-defined parts) with total guards.
  const content = inputContent(api, obj(rawBody) ?? {}, options);
  return content === undefined ? facts : { ...facts, content };
};
