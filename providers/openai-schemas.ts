/** OpenAI-dialect wire shapes (chat completions, completions, embeddings, images, Responses), leniently read. */
import type { z } from 'zod';
import { zAny, zBoolean, zCount, zFact, zIndex, zList, zNumber, zObject, zStops } from './schema.ts';

export const ChatRequest = zObject({
  model: zFact,
  stream: zBoolean,
  temperature: zNumber,
  top_p: zNumber,
  top_k: zNumber,
  max_tokens: zCount,
  max_completion_tokens: zCount,
  max_output_tokens: zCount,
  seed: zNumber,
  stop: zStops,
  frequency_penalty: zNumber,
  presence_penalty: zNumber,
  n: zCount,
  response_format: zObject({ type: zFact }),
  text: zObject({ format: zObject({ type: zFact }) }),
  encoding_format: zFact,
});

/** Chat/completions usage; `prompt_tokens` already includes cached, `completion_tokens` reasoning (not on xAI). */
export const Usage = zObject({
  prompt_tokens: zCount,
  completion_tokens: zCount,
  // xAI's reasoning tokens are outside `completion_tokens` but inside `total_tokens` (see readOpenAiUsage).
  total_tokens: zCount,
  // Images (gpt-image-*) and Responses name them this way.
  input_tokens: zCount,
  output_tokens: zCount,
  // DeepSeek's cache hits, in older responses without the details object.
  prompt_cache_hit_tokens: zCount,
  // Together's (and Moonshot's) cache reads, top level.
  cached_tokens: zCount,
  prompt_tokens_details: zObject({ cached_tokens: zCount, cache_write_tokens: zCount }),
  completion_tokens_details: zObject({ reasoning_tokens: zCount }),
});
export type Usage = NonNullable<z.infer<typeof Usage>>;

const Choice = zObject({
  index: zIndex,
  finish_reason: zFact,
  text: zAny,
  delta: zObject({ content: zAny, tool_calls: zAny }),
});

/** A non-streaming body or one stream chunk. `object: "error"` is vLLM's in-stream error. */
export const ChatChunk = zObject({
  id: zFact,
  model: zFact,
  object: zAny,
  choices: zList(Choice),
  data: zAny,
  usage: Usage,
  x_groq: zObject({ usage: Usage }),
  error: zAny,
});
export type ChatChunk = NonNullable<z.infer<typeof ChatChunk>>;

export const ResponsesUsage = zObject({
  input_tokens: zCount,
  output_tokens: zCount,
  input_tokens_details: zObject({ cached_tokens: zCount, cache_write_tokens: zCount }),
  output_tokens_details: zObject({ reasoning_tokens: zCount }),
});

export const ResponseObject = zObject({
  id: zFact,
  model: zFact,
  status: zFact,
  incomplete_details: zAny,
  usage: ResponsesUsage,
  error: zAny,
  output: zAny,
});
export type ResponseObject = NonNullable<z.infer<typeof ResponseObject>>;

export const ResponsesEvent = zObject({ response: ResponseObject, code: zAny, delta: zAny, error: zAny });
