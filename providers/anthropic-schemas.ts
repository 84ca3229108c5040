/** Anthropic Messages wire shapes (also Claude on Bedrock InvokeModel and on Vertex AI), leniently read. */
import type { z } from 'zod';
import { zAny, zBoolean, zCount, zFact, zNumber, zObject, zStops } from './schema.ts';

export const AnthropicRequest = zObject({
  model: zFact,
  stream: zBoolean,
  temperature: zNumber,
  top_p: zNumber,
  top_k: zNumber,
  max_tokens: zCount,
  // Legacy `/v1/complete`.
  max_tokens_to_sample: zCount,
  stop_sequences: zStops,
});

/** `input_tokens` excludes cache reads and writes (semconv input adds them back). */
export const AnthropicUsage = zObject({
  input_tokens: zCount,
  output_tokens: zCount,
  cache_read_input_tokens: zCount,
  cache_creation_input_tokens: zCount,
  output_tokens_details: zObject({ thinking_tokens: zCount }),
});
export type AnthropicUsage = NonNullable<z.infer<typeof AnthropicUsage>>;

const ErrorDetail = zObject({ type: zAny });

/** One stream event: `message_start`, `message_delta`, `error` (the others are not parsed). */
export const AnthropicEvent = zObject({
  message: zObject({ id: zFact, model: zFact, usage: AnthropicUsage }),
  delta: zObject({ stop_reason: zFact, text: zAny }),
  usage: AnthropicUsage,
  error: ErrorDetail,
});

/** A whole Messages, legacy completion or count_tokens body. */
export const AnthropicBody = zObject({
  type: zAny,
  id: zFact,
  model: zFact,
  stop_reason: zFact,
  usage: AnthropicUsage,
  error: ErrorDetail,
  completion: zAny,
  content: zAny,
});
export type AnthropicBody = NonNullable<z.infer<typeof AnthropicBody>>;

/** A legacy `/v1/complete` stream event. */
export const LegacyCompletion = zObject({ id: zFact, model: zFact, stop_reason: zFact, completion: zAny });
