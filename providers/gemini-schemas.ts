/** Gemini / Vertex AI GenerateContent wire shapes, leniently read. */
import * as z from 'zod/mini';
import { zAny, zCount, zFact, zIndex, zList, zNumber, zObject, zStops } from './schema.ts';

export const GeminiRequest = zObject({
  generationConfig: zObject({
    temperature: zNumber,
    topP: zNumber,
    topK: zNumber,
    maxOutputTokens: zCount,
    seed: zNumber,
    stopSequences: zStops,
    frequencyPenalty: zNumber,
    presencePenalty: zNumber,
    candidateCount: zCount,
    responseMimeType: zFact,
  }),
});

/** Cumulative per chunk. `candidatesTokenCount` excludes thoughts (semconv output adds them). */
export const UsageMetadata = zObject({
  promptTokenCount: zCount,
  toolUsePromptTokenCount: zCount,
  candidatesTokenCount: zCount,
  thoughtsTokenCount: zCount,
  cachedContentTokenCount: zCount,
});
export type UsageMetadata = NonNullable<z.infer<typeof UsageMetadata>>;

/** An enum member: its name, or its number when the client asked for `enum-encoding=int` (mapped later). */
const zEnum = z.catch(z.optional(z.union([z.string(), z.int().check(z.nonnegative())])), undefined);

export const GeminiChunk = zObject({
  responseId: zFact,
  modelVersion: zFact,
  candidates: zList(zObject({ index: zIndex, finishReason: zEnum, content: zAny, safetyRatings: zAny })),
  promptFeedback: zObject({ blockReason: zEnum, safetyRatings: zAny }),
  usageMetadata: UsageMetadata,
  error: zObject({ status: zAny, code: zAny }),
});
