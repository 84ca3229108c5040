/**
 * Vertex AI: Google's Gemini models on `/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:…`
 * (the Gemini wire format under another provider name), and Anthropic's Claude models as partner models on
 * `…/publishers/anthropic/models/{model}:rawPredict` / `:streamRawPredict` (the Anthropic Messages wire
 * format; the model is named in the URL).
 */
import type { ParsedRequest, ProviderAdapter, RequestTarget } from '../src/adapter.ts';
import { defineAdapter } from '../src/adapter.ts';
import { AnthropicParser, anthropicFraming, anthropicInput, anthropicParams } from './anthropic.ts';
import { API, apiOf, decodeSegment, obj, str, trimPath, type WithApi } from './common.ts';
import { responseBudget } from './content.ts';
import { geminiApi } from './gemini.ts';
import { VERTEX_AI_ENUMS } from './gemini-enums.ts';
import { geminiLive } from './realtime.ts';

const gemini = geminiApi('vertex-ai', 'gcp.vertex_ai', VERTEX_AI_ENUMS);

const CLAUDE = 'anthropic';
const CLAUDE_PATH = /\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;

const claudeRoute = (target: RequestTarget): [string, boolean] | undefined => {
  if (target.method.toUpperCase() !== 'POST') return undefined;
  const match = CLAUDE_PATH.exec(trimPath(target.path));
  return match?.[1] === undefined ? undefined : [decodeSegment(match[1]), match[2] === 'streamRawPredict'];
};

export const vertexAi: ProviderAdapter = defineAdapter({
  id: gemini.id,
  providerName: gemini.providerName,
  realtime: geminiLive,
  operationFor(target) {
    return claudeRoute(target) === undefined ? gemini.operationFor(target) : 'chat';
  },
  parseRequest(operation, target, rawBody, options): WithApi<ParsedRequest> {
    const claude = claudeRoute(target);
    if (claude === undefined) return gemini.parseRequest(operation, target, rawBody, options);
    const body = obj(rawBody) ?? {};
    const facts = {
      operation,
      requestModel: str(claude[0]),
      stream: claude[1],
      params: anthropicParams(body),
      [API]: CLAUDE,
    };
    return options.captureContent ? { ...facts, content: anthropicInput(body, options) } : facts;
  },
  framing(request, head) {
    return apiOf(request) === CLAUDE ? anthropicFraming(request, head) : gemini.framing(request, head);
  },
  createParser(request, head, options) {
    if (apiOf(request) !== CLAUDE) return gemini.createParser(request, head, options);
    const stream = anthropicFraming(request, head) === 'sse';
    return new AnthropicParser('chat', stream, head, responseBudget(request, options));
  },
});
