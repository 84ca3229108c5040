/**
 * Bedrock InvokeModel bodies are model-native JSON: each model family (Anthropic, Titan, Nova, Llama,
 * Cohere, AI21, Mistral) names its finish reason differently. Token counts come from Bedrock itself:
 * the `x-amzn-bedrock-*-token-count` response headers, or `amazon-bedrock-invocationMetrics` in the last
 * chunk of a stream. Bedrock's input count excludes cache reads/writes; semconv input includes them.
 */
import type { RequestParams } from '../src/record.ts';
import { arr, count, definedOnly, type Json, num, obj, stopSequences, str, sumKnown } from './common.ts';
import type { ResponseState } from './state.ts';

/** The finish reason of one model-native body or stream chunk, whatever the family. */
export const invokeFinishReason = (body: Json): string | undefined => {
  const first = (list: unknown, key: string): string | undefined => {
    for (const item of arr(list) ?? []) {
      const value = obj(item)?.[key];
      const reason = str(value) ?? str(obj(value)?.reason);
      if (reason !== undefined) return reason;
    }
    return undefined;
  };
  return (
    str(body.stop_reason) ?? // Anthropic, Llama, Mistral (chunk)
    str(body.stopReason) ?? // Nova (non-stream)
    str(obj(body.messageStop)?.stopReason) ?? // Nova (stream)
    str(body.completionReason) ?? // Titan (stream)
    first(body.results, 'completionReason') ?? // Titan
    first(body.generations, 'finish_reason') ?? // Cohere
    str(body.finish_reason) ?? // Cohere (stream end)
    first(body.completions, 'finishReason') ?? // AI21
    first(body.outputs, 'stop_reason') // Mistral
  );
};

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
export const readInvocationMetrics = (state: ResponseState, metrics: Json): void => {
  const cacheRead = count(metrics.cacheReadInputTokenCount);
  const cacheWrite = count(metrics.cacheWriteInputTokenCount);
  state.inputTokens = sumKnown(count(metrics.inputTokenCount), cacheRead, cacheWrite);
  state.outputTokens = count(metrics.outputTokenCount);
  state.cacheReadInputTokens = cacheRead;
  state.cacheCreationInputTokens = cacheWrite;
};

/** Request parameters across the model-native request shapes. */
export const invokeParams = (body: Json): RequestParams => {
  const titan = obj(body.textGenerationConfig) ?? {};
  const nova = obj(body.inferenceConfig) ?? {};
  return definedOnly<RequestParams>({
    temperature: num(body.temperature) ?? num(titan.temperature) ?? num(nova.temperature),
    topP: num(body.top_p) ?? num(body.topP) ?? num(body.p) ?? num(titan.topP) ?? num(nova.top_p),
    topK: num(body.top_k) ?? num(body.k) ?? num(nova.top_k),
    maxTokens:
      count(body.max_tokens) ??
      count(body.max_tokens_to_sample) ??
      count(body.maxTokens) ??
      count(body.max_gen_len) ??
      count(titan.maxTokenCount) ??
      count(nova.max_new_tokens),
    stopSequences: stopSequences(
      body.stop_sequences ?? body.stop ?? titan.stopSequences ?? nova.stopSequences,
    ),
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
