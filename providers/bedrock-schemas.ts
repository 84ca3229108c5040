/** Bedrock Runtime wire shapes: Converse, ConverseStream events and the model-native InvokeModel bodies. */
import type { z } from 'zod';
import { zAny, zCount, zFact, zList, zNumber, zObject, zStops } from './schema.ts';

export const ConverseRequest = zObject({
  inferenceConfig: zObject({ temperature: zNumber, topP: zNumber, maxTokens: zCount, stopSequences: zStops }),
  guardrailConfig: zObject({ guardrailIdentifier: zFact, guardrailVersion: zFact }),
});

/** `inputTokens` excludes cache reads and writes (semconv input adds them back). */
export const ConverseUsage = zObject({
  inputTokens: zCount,
  outputTokens: zCount,
  cacheReadInputTokens: zCount,
  cacheWriteInputTokens: zCount,
});
export type ConverseUsage = NonNullable<z.infer<typeof ConverseUsage>>;

/** A Converse body, or a ConverseStream `messageStop` / `metadata` / `contentBlockDelta` event. */
export const ConverseMessage = zObject({
  stopReason: zFact,
  usage: ConverseUsage,
  output: zAny,
  delta: zObject({ text: zAny }),
});

export const InvocationMetrics = zObject({
  inputTokenCount: zCount,
  outputTokenCount: zCount,
  cacheReadInputTokenCount: zCount,
  cacheWriteInputTokenCount: zCount,
});
export type InvocationMetrics = NonNullable<z.infer<typeof InvocationMetrics>>;

/** InvokeModel request parameters across the model families' native shapes. */
export const InvokeRequest = zObject({
  temperature: zNumber,
  top_p: zNumber,
  topP: zNumber,
  p: zNumber,
  top_k: zNumber,
  k: zNumber,
  max_tokens: zCount,
  max_tokens_to_sample: zCount,
  maxTokens: zCount,
  max_gen_len: zCount,
  stop_sequences: zStops,
  stop: zStops,
  textGenerationConfig: zObject({
    temperature: zNumber,
    topP: zNumber,
    maxTokenCount: zCount,
    stopSequences: zStops,
  }),
  inferenceConfig: zObject({
    temperature: zNumber,
    top_p: zNumber,
    top_k: zNumber,
    max_new_tokens: zCount,
    stopSequences: zStops,
  }),
});

/** One model-native body or decoded stream chunk, whatever the family (Anthropic, Titan, Nova, Llama…). */
export const InvokeBody = zObject({
  type: zAny,
  model: zFact,
  stop_reason: zFact,
  stopReason: zFact,
  messageStop: zObject({ stopReason: zFact }),
  completionReason: zFact,
  finish_reason: zFact,
  results: zList(zObject({ completionReason: zFact })),
  generations: zList(zObject({ finish_reason: zFact })),
  completions: zList(zObject({ finishReason: zObject({ reason: zFact }) })),
  outputs: zList(zObject({ stop_reason: zFact })),
  'amazon-bedrock-invocationMetrics': InvocationMetrics,
  outputText: zAny,
  generation: zAny,
  completion: zAny,
  contentBlockDelta: zObject({ delta: zObject({ text: zAny }) }),
  content: zAny,
});
export type InvokeBody = NonNullable<z.infer<typeof InvokeBody>>;
