/**
 * Google Gemini API (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent` as SSE with
 * `alt=sse` or as a streamed JSON array without it, `:embedContent`, `:batchEmbedContents`,
 * `:countTokens`), and the same API on Vertex AI paths (`…/publishers/google/models/{model}:…`).
 * Usage is cumulative per chunk: the last reported value of each field wins, never a sum.
 * `candidatesTokenCount` excludes thoughts; semconv output includes reasoning, so they are added.
 */
import type {
  Frame,
  Framing,
  OutputSignal,
  ParsedRequest,
  ParsedResponse,
  ParseOptions,
  ProviderAdapter,
  RequestTarget,
  ResponseHead,
  ResponseParser,
} from '../src/adapter.ts';
import { defineAdapter, parseJsonObject } from '../src/adapter.ts';
import type { CapturedContent, Operation, RequestFacts, RequestParams } from '../src/record.ts';
import {
  API,
  apiOf,
  arr,
  contentTypeIs,
  decodeSegment,
  definedOnly,
  type Json,
  memberObject,
  nonEmptyMember,
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
} from './content.ts';
import { enumName, GEMINI_API_ENUMS, type GeminiEnums, SAFETY_FINISH } from './gemini-enums.ts';
import { GeminiChunk, GeminiRequest, UsageMetadata } from './gemini-schemas.ts';
import { geminiLive } from './realtime.ts';
import { read } from './schema.ts';
import { codeLike, ResponseState } from './state.ts';

/** `…/models/{model}:{method}` (Gemini API, Vertex publisher models, tuned models). */
const MODEL_METHOD = /\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/;

const METHOD_OPERATION: Readonly<Record<string, Operation>> = {
  generateContent: 'generate_content',
  streamGenerateContent: 'generate_content',
  embedContent: 'embeddings',
  batchEmbedContents: 'embeddings',
  countTokens: 'count_tokens',
};

const modelMethod = (target: RequestTarget): [string, string] | undefined => {
  const match = MODEL_METHOD.exec(trimPath(target.path));
  return match?.[1] === undefined || match[2] === undefined ? undefined : [match[1], match[2]];
};

const params = (rawBody: unknown): RequestParams => {
  const config = read(GeminiRequest, rawBody)?.generationConfig ?? {};
  const mime = config.responseMimeType;
  return definedOnly<RequestParams>({
    temperature: config.temperature,
    topP: config.topP,
    topK: config.topK,
    maxTokens: config.maxOutputTokens,
    seed: config.seed,
    stopSequences: config.stopSequences,
    frequencyPenalty: config.frequencyPenalty,
    presencePenalty: config.presencePenalty,
    choiceCount: config.candidateCount,
    outputType: mime === undefined ? undefined : mime.includes('json') ? 'json' : 'text',
  });
};

const geminiParts = (budget: ContentBudget, parts: unknown): Part[] => {
  const out: Part[] = [];
  for (const item of arr(parts) ?? []) {
    const part = obj(item);
    if (part === undefined) continue;
    const call = obj(part.functionCall);
    const response = obj(part.functionResponse);
    if (typeof part.text === 'string') {
      out.push({ type: part.thought === true ? 'reasoning' : 'text', content: budget.take(part.text) });
    } else if (call !== undefined) {
      out.push(
        definedOnly<Part>({
          type: 'tool_call',
          id: str(call.id),
          name: str(call.name),
          arguments: jsonText(budget, call.args),
        }),
      );
    } else if (response !== undefined) {
      out.push(
        definedOnly<Part>({
          type: 'tool_call_response',
          id: str(response.id),
          response: jsonText(budget, response.response),
        }),
      );
    } else if (part.inlineData !== undefined || part.fileData !== undefined) {
      out.push({ type: 'blob', mime_type: str(obj(part.inlineData ?? part.fileData)?.mimeType) ?? '' });
    }
  }
  return out;
};

const inputContent = (body: Json, options: ParseOptions): CapturedContent => {
  const budget = new ContentBudget(options.maxCapturedChars);
  const messages: Message[] = [];
  for (const item of arr(body.contents) ?? []) {
    const content = obj(item);
    if (content === undefined) continue;
    const role = str(content.role) === 'model' ? 'assistant' : (str(content.role) ?? 'user');
    messages.push({ role, parts: geminiParts(budget, content.parts) });
  }
  const system = obj(body.systemInstruction ?? body.system_instruction);
  return captured(budget, {
    inputMessages: messages,
    systemInstructions: system === undefined ? undefined : geminiParts(budget, system.parts),
  });
};

/** Members that end or fail a stream: one regex scan instead of an `includes` pass per key. */
/** A non-empty `parts` list: the chunk carries output. */
const PARTS = nonEmptyMember(['parts']);
const MAY_END = /"(?:finishReason|promptFeedback|error)"/;

class GeminiParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #stream: boolean;
  readonly #budget: ContentBudget | undefined;
  readonly #text: StreamedText | undefined;
  #output: Message[] | undefined;
  #prompt: number | undefined;
  #toolPrompt: number | undefined;
  #candidates: number | undefined;
  #thoughts: number | undefined;
  readonly #enums: GeminiEnums;

  constructor(stream: boolean, head: ResponseHead, budget: ContentBudget | undefined, enums: GeminiEnums) {
    this.#state = new ResponseState(head);
    this.#stream = stream;
    this.#budget = budget;
    this.#text = budget === undefined || !stream ? undefined : new StreamedText(budget);
    this.#enums = enums;
  }

  /** Harm categories of the ratings that blocked (`blocked: true`), by name. */
  #blockedCategories(ratings: unknown): string[] {
    const out: string[] = [];
    for (const item of arr(ratings) ?? []) {
      const rating = obj(item);
      if (rating?.blocked !== true) continue;
      const category = enumName(rating.category, this.#enums.harmCategory);
      if (category !== undefined) out.push(category);
      if (out.length >= 16) break;
    }
    return out;
  }

  #usage(usage: UsageMetadata): void {
    const state = this.#state;
    // Absent fields keep the previous chunk's value (early chunks may omit them).
    this.#prompt = usage.promptTokenCount ?? this.#prompt;
    this.#toolPrompt = usage.toolUsePromptTokenCount ?? this.#toolPrompt;
    this.#candidates = usage.candidatesTokenCount ?? this.#candidates;
    this.#thoughts = usage.thoughtsTokenCount ?? this.#thoughts;
    state.cacheReadInputTokens = usage.cachedContentTokenCount ?? state.cacheReadInputTokens;
    state.inputTokens = this.#prompt === undefined ? undefined : this.#prompt + (this.#toolPrompt ?? 0);
    state.outputTokens =
      this.#candidates === undefined && this.#thoughts === undefined
        ? undefined
        : (this.#candidates ?? 0) + (this.#thoughts ?? 0);
    state.reasoningOutputTokens = this.#thoughts;
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const text = frame.text;
    if (state.httpError) {
      state.terminal = true;
      state.httpErrorBody(parseJsonObject(text));
      return;
    }
    const output = PARTS.test(text);
    if (output) signal.output();
    const needed =
      !this.#stream ||
      this.#budget !== undefined ||
      state.responseId === undefined ||
      state.responseModel === undefined ||
      MAY_END.test(text);
    if (!needed) {
      // Streams may repeat the growing usage on every chunk: read just that member, not the content.
      const usage = read(UsageMetadata, memberObject(text, '"usageMetadata"'));
      if (usage !== undefined) this.#usage(usage);
      return;
    }
    const chunk = read(GeminiChunk, parseJsonObject(text));
    if (chunk === undefined) return;
    if (!this.#stream) state.terminal = true;
    if (chunk.error !== undefined) {
      state.streamError(codeLike(chunk.error.status) ?? codeLike(chunk.error.code) ?? 'error');
      return;
    }
    state.responseId ??= chunk.responseId;
    state.responseModel ??= chunk.modelVersion;
    const candidates = chunk.candidates ?? [];
    for (let position = 0; position < candidates.length; position++) {
      const candidate = candidates[position];
      const index = candidate?.index ?? position;
      const reason = enumName(candidate?.finishReason, this.#enums.finishReason);
      state.finish.set(index, reason);
      if (reason !== undefined) {
        state.terminal = true;
        if (SAFETY_FINISH.has(reason)) {
          state
            .safety()
            .block('content_filter', 'output', [
              reason,
              ...this.#blockedCategories(candidate?.safetyRatings),
            ]);
        }
      }
      if (this.#text !== undefined) {
        for (const part of arr(obj(candidate?.content)?.parts) ?? []) {
          const piece = obj(part);
          if (typeof piece?.text === 'string' && piece.thought !== true) this.#text.add(index, piece.text);
          const call = obj(piece?.functionCall);
          // A streamed function call arrives whole in one chunk.
          if (call !== undefined) {
            this.#text.appendToolCall(index, { id: call.id, name: call.name, arguments: call.args });
          }
        }
      }
    }
    const blocked = enumName(chunk.promptFeedback?.blockReason, this.#enums.blockReason);
    if (blocked !== undefined) {
      // A blocked prompt is a 200 with no candidates; its block reason is the only "finish" reported.
      state.finish.set(0, blocked);
      state.terminal = true;
      state
        .safety()
        .block('content_filter', 'input', [
          blocked,
          ...this.#blockedCategories(chunk.promptFeedback?.safetyRatings),
        ]);
    }
    if (chunk.usageMetadata !== undefined) this.#usage(chunk.usageMetadata);
    if (this.#budget !== undefined && !this.#stream) {
      this.#output = candidates.map((candidate) => {
        return {
          role: 'assistant',
          parts: geminiParts(this.#budget as ContentBudget, obj(candidate?.content)?.parts),
          finish_reason: enumName(candidate?.finishReason, this.#enums.finishReason) ?? '',
        };
      });
    }
  }

  finish(complete: boolean): ParsedResponse {
    // Gemini streams have no end marker: a stream is whole when the body ended cleanly after a finish.
    if (this.#stream && !complete && this.#state.error === undefined) this.#state.terminal = false;
    if (this.#budget === undefined) return this.#state.result();
    const output = this.#text?.messages(this.#state.finish.list()) ?? this.#output;
    return this.#state.result(captured(this.#budget, { outputMessages: output }));
  }
}

const geminiFraming = (request: RequestFacts, head: ResponseHead): Framing => {
  if (head.status >= 400) return 'json';
  if (contentTypeIs(head, 'event-stream')) return 'sse';
  if (!request.stream) return 'json';
  // `?alt=sse` asked for SSE; trust it when a gateway dropped the content type.
  return apiOf(request) === 'sse' && head.contentType === undefined ? 'sse' : 'json-array';
};

export const geminiApi = (
  id: string,
  providerName: string,
  enums: GeminiEnums = GEMINI_API_ENUMS,
): ProviderAdapter =>
  defineAdapter({
    id,
    providerName,
    realtime: geminiLive,
    operationFor(target) {
      if (target.method.toUpperCase() !== 'POST') return undefined;
      const method = modelMethod(target)?.[1];
      return method === undefined ? undefined : METHOD_OPERATION[method];
    },
    parseRequest(operation, target, rawBody, options): WithApi<ParsedRequest> {
      const body = obj(rawBody) ?? {};
      const [model, method] = modelMethod(target) ?? [undefined, undefined];
      const facts = {
        operation,
        requestModel: model === undefined ? undefined : str(decodeSegment(model)),
        stream: method === 'streamGenerateContent',
        params: operation === 'generate_content' ? params(rawBody) : {},
        [API]: target.query.get('alt') === 'sse' ? 'sse' : 'json',
      };
      return options.captureContent && operation === 'generate_content'
        ? { ...facts, content: inputContent(body, options) }
        : facts;
    },
    framing: geminiFraming,
    createParser(request, head, options) {
      const budget = responseBudget(request, options);
      return new GeminiParser(geminiFraming(request, head) !== 'json', head, budget, enums);
    },
  });

export const gemini = geminiApi('gemini', 'gcp.gemini');
