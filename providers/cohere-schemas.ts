/** Cohere v1/v2 wire shapes (chat, generate, embed, rerank; SSE and NDJSON stream events), leniently read. */
import * as z from 'zod/mini';
import { zAny, zBoolean, zCount, zFact, zList, zNumber, zObject, zStops } from './schema.ts';

export const CohereRequest = zObject({
  model: zFact,
  stream: zBoolean,
  temperature: zNumber,
  p: zNumber,
  k: zNumber,
  max_tokens: zCount,
  seed: zNumber,
  stop_sequences: zStops,
  frequency_penalty: zNumber,
  presence_penalty: zNumber,
  num_generations: zCount,
  response_format: zObject({ type: zFact }),
  embedding_types: zList(z.string()),
});

/** What Cohere bills (semconv: report billed tokens); the larger `tokens` include its own preamble. */
export const Billed = zObject({ billed_units: zObject({ input_tokens: zCount, output_tokens: zCount }) });

const End = {
  finish_reason: zFact,
  usage: Billed,
  response: zObject({ meta: Billed }),
  error: zAny,
};

/** v2 `message-start` / `message-end` (its facts under `delta`), v1 `stream-start` / `stream-end`. */
export const CohereEvent = zObject({ id: zFact, generation_id: zFact, delta: zObject(End), ...End });

export const CohereBody = zObject({
  id: zFact,
  response_id: zFact,
  finish_reason: zFact,
  generations: zList(zObject({ finish_reason: zFact })),
  usage: Billed,
  meta: Billed,
  message: zAny,
  text: zAny,
});
