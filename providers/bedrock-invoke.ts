/**
 * Bedrock InvokeModel bodies are model-native JSON: each model family (Anthropic, Titan, Nova, Llama,
 * Cohere, AI21, Mistral) names its finish reason differently. Token counts come from Bedrock itself:
 * the `x-amzn-bedrock-*-token-count` response headers, or `amazon-bedrock-invocationMetrics` in the last
 * chunk of a stream. Bedrock's input count excludes cache reads/writes; semconv input includes them.
 */
import type { RequestParams } from '../src/record.ts';
import { type InvocationMetrics, type InvokeBody, InvokeRequest } from './bedrock-schemas.ts';
import { definedOnly, sumKnown } from './common.ts';
import { read } from './schema.ts';
import type { ResponseState } from './state.ts';

/** The finish reason of one model-native body or stream chunk, whatever the family. */
export const invokeFinishReason = (body: InvokeBody): string | undefined =>
  body.stop_reason ?? // Anthropic, Llama, Mistral (chunk)
  body.stopReason ?? // Nova (non-stream)
  body.messageStop?.stopReason ?? // Nova (stream)
  body.completionReason ?? // Titan (stream)
  body.results?.find((result) => result?.completionReason !== undefined)?.completionReason ?? // Titan
  body.generations?.find((generation) => generation?.finish_reason !== undefined)?.finish_reason ?? // Cohere
  body.finish_reason ?? // Cohere (stream end)
  body.completions?.find((completion) => completion?.finishReason?.reason !== undefined)?.finishReason
    ?.reason ?? // AI21
  body.outputs?.find((output) => output?.stop_reason !== undefined)?.stop_reason; // Mistral

/** Usage from `x-amzn-bedrock-*` headers (InvokeModel). */
export const readUsageHeaders = (state: ResponseState, headers: Readonly<Record<string, string>>): void => {
  const header = (name: string): number | undefined => {
    const raw = headers[name];
    return raw === undefined || !/^\d{1,15}$/.test(raw) ? undefined : Number(raw);
  };
  const input = header('x-amzn-bedrock-input-token-count');
  const cacheRead = header('x-amzn-bedrock-cache-read-input-token-count');
  const cacheWrite = header('x-amzn-bedrock-cache-write-input-token-count');
  state.inputTokens = sumKnown(input, cacheRead, cacheWrite);
  state.outputTokens = header('x-amzn-bedrock-output-token-count');
  state.cacheReadInputTokens = cacheRead;
  state.cacheCreationInputTokens = cacheWrite;
};

/** Usage from `amazon-bedrock-invocationMetrics` (InvokeModelWithResponseStream's last chunk). */
export const readInvocationMetrics = (state: ResponseState, metrics: InvocationMetrics): void => {
  const cacheRead = metrics.cacheReadInputTokenCount;
  const cacheWrite = metrics.cacheWriteInputTokenCount;
  state.inputTokens = sumKnown(metrics.inputTokenCount, cacheRead, cacheWrite);
  state.outputTokens = metrics.outputTokenCount;
  state.cacheReadInputTokens = cacheRead;
  state.cacheCreationInputTokens = cacheWrite;
};

/** Request parameters across the model-native request shapes. */
export const invokeParams = (rawBody: unknown): RequestParams => {
  const body = read(InvokeRequest, rawBody) ?? {};
  const titan = body.textGenerationConfig ?? {};
  const nova = body.inferenceConfig ?? {};
  return definedOnly<RequestParams>({
    temperature: body.temperature ?? titan.temperature ?? nova.temperature,
    topP: body.top_p ?? body.topP ?? body.p ?? titan.topP ?? nova.top_p,
    topK: body.top_k ?? body.k ?? nova.top_k,
    maxTokens:
      body.max_tokens ??
      body.max_tokens_to_sample ??
      body.maxTokens ??
      body.max_gen_len ??
      titan.maxTokenCount ??
      nova.max_new_tokens,
    stopSequences: body.stop_sequences ?? body.stop ?? titan.stopSequences ?? nova.stopSequences,
  });
};

/** Base64 (InvokeModelWithResponseStream `{"bytes": …}`) → UTF-8 text, without `Buffer`. */
const utf8 = new TextDecoder();
export const decodeBase64Utf8 = (base64: string): string | undefined => {
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return utf8.decode(bytes);
};

/** The `bytes` member of a chunk payload, sliced out without parsing the envelope. */
export const chunkBytes = (text: string): string | undefined => {
  const key = '"bytes":"';
  const at = text.indexOf(key);
  if (at === -1) return undefined;
  const end = text.indexOf('"', at + key.length);
  return end === -1 ? undefined : text.slice(at + key.length, end);
};
