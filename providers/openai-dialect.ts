/**
 * The shared OpenAI-dialect adapter: chat completions, Responses, legacy completions, embeddings and
 * images, streaming or not. An OpenAI-compatible vendor is `openAiDialect({ id, providerName })`.
 */
import type { Framing, ProviderAdapter, ResponseHead, ResponseParser } from '../src/adapter.ts';
import { defineAdapter } from '../src/adapter.ts';
import type { RequestFacts } from '../src/record.ts';
import { apiOf, contentTypeIs } from './common.ts';
import { type ContentBudget, responseBudget } from './content.ts';
import { OpenAiJsonParser, OpenAiStreamParser } from './openai-chat.ts';
import { type OpenAiApi, openAiApiFor, operationOf, parseOpenAiRequest } from './openai-request.ts';
import { ResponsesParser } from './openai-responses.ts';
import { openAiStreamUsage } from './stream-usage.ts';

export interface OpenAiDialectConfig {
  readonly id: string;
  readonly providerName: string;
  /**
   * Whether the vendor accepts `stream_options.include_usage`. Vendors that stream usage unasked (Mistral,
   * Groq, DeepSeek, OpenRouter) or may reject the member are left alone: a rejected request breaks the app.
   */
  readonly injectUsage: boolean;
  /** Read Azure OpenAI content-filter results (`prompt_filter_results`, `content_filter_results`). */
  readonly contentFilters?: boolean;
}

const API_OF_OPERATION: Readonly<Record<string, OpenAiApi>> = {
  chat: 'chat',
  text_completion: 'completions',
  embeddings: 'embeddings',
  image_generation: 'images',
};

/** The API recorded by `parseRequest`, or the operation's usual one when the request went unparsed. */
export const openAiApiOf = (request: RequestFacts): OpenAiApi =>
  (apiOf(request) as OpenAiApi | undefined) ?? API_OF_OPERATION[request.operation] ?? 'chat';

/** Error bodies are one JSON document whatever their content type (DeepSeek sends octet-stream). */
export const openAiFraming = (request: RequestFacts, head: ResponseHead): Framing => {
  if (head.status >= 400) return 'json';
  if (contentTypeIs(head, 'event-stream')) return 'sse';
  if (contentTypeIs(head, 'json')) return 'json';
  return request.stream ? 'sse' : 'json';
};

export const createOpenAiParser = (
  api: OpenAiApi,
  framing: Framing,
  head: ResponseHead,
  budget: ContentBudget | undefined,
  contentFilters = false,
): ResponseParser => {
  const stream = framing === 'sse';
  if (api === 'responses') return new ResponsesParser(stream, head, budget);
  return stream
    ? new OpenAiStreamParser(api, head, budget, contentFilters)
    : new OpenAiJsonParser(api, head, budget, contentFilters);
};

export const openAiDialect = (config: OpenAiDialectConfig): ProviderAdapter => {
  const adapter: ProviderAdapter = {
    id: config.id,
    providerName: config.providerName,
    operationFor(target) {
      const api = openAiApiFor(target);
      return api === undefined ? undefined : operationOf(api);
    },
    parseRequest(_operation, target, body, options) {
      return parseOpenAiRequest(openAiApiFor(target) ?? 'chat', body, options);
    },
    framing: openAiFraming,
    createParser(request, head, options) {
      const budget = responseBudget(request, options);
      return createOpenAiParser(
        openAiApiOf(request),
        openAiFraming(request, head),
        head,
        budget,
        config.contentFilters === true,
      );
    },
  };
  return defineAdapter(config.injectUsage ? { ...adapter, streamUsage: openAiStreamUsage } : adapter);
};
