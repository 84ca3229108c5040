/**
 * Enum values of the Gemini API and Vertex AI in their numeric encoding: a client that asks for
 * `$alt=json;enum-encoding=int` gets `"finishReason": 1` instead of `"STOP"`. The two APIs number their enums
 * differently (Gemini API `BLOCKLIST` is 7, Vertex AI's is 6), so each adapter carries its own tables, copied
 * from googleapis/googleapis @ f8291d2 (2026-08-22): `google/ai/generativelanguage/v1beta/{generative_service,
 * safety}.proto` and `google/cloud/aiplatform/v1/{content,prediction_service}.proto`. A number outside the
 * table stays as its decimal text (an unknown value passes through rather than being dropped).
 */
import { str } from './common.ts';

export interface GeminiEnums {
  readonly finishReason: readonly string[];
  readonly blockReason: readonly string[];
  readonly harmCategory: readonly string[];
}

export const GEMINI_API_ENUMS: GeminiEnums = Object.freeze({
  finishReason: [
    'FINISH_REASON_UNSPECIFIED',
    'STOP',
    'MAX_TOKENS',
    'SAFETY',
    'RECITATION',
    'OTHER',
    'LANGUAGE',
    'BLOCKLIST',
    'PROHIBITED_CONTENT',
    'SPII',
    'MALFORMED_FUNCTION_CALL',
    'IMAGE_SAFETY',
    'UNEXPECTED_TOOL_CALL',
    'TOO_MANY_TOOL_CALLS',
    'IMAGE_PROHIBITED_CONTENT',
    'IMAGE_OTHER',
    'NO_IMAGE',
    'IMAGE_RECITATION',
  ],
  blockReason: [
    'BLOCK_REASON_UNSPECIFIED',
    'SAFETY',
    'OTHER',
    'BLOCKLIST',
    'PROHIBITED_CONTENT',
    'IMAGE_SAFETY',
  ],
  harmCategory: [
    'HARM_CATEGORY_UNSPECIFIED',
    'HARM_CATEGORY_DEROGATORY',
    'HARM_CATEGORY_TOXICITY',
    'HARM_CATEGORY_VIOLENCE',
    'HARM_CATEGORY_SEXUAL',
    'HARM_CATEGORY_MEDICAL',
    'HARM_CATEGORY_DANGEROUS',
    'HARM_CATEGORY_HARASSMENT',
    'HARM_CATEGORY_HATE_SPEECH',
    'HARM_CATEGORY_SEXUALLY_EXPLICIT',
    'HARM_CATEGORY_DANGEROUS_CONTENT',
    'HARM_CATEGORY_CIVIC_INTEGRITY',
  ],
});

export const VERTEX_AI_ENUMS: GeminiEnums = Object.freeze({
  finishReason: [
    'FINISH_REASON_UNSPECIFIED',
    'STOP',
    'MAX_TOKENS',
    'SAFETY',
    'RECITATION',
    'OTHER',
    'BLOCKLIST',
    'PROHIBITED_CONTENT',
    'SPII',
    'MALFORMED_FUNCTION_CALL',
    'MODEL_ARMOR',
  ],
  blockReason: [
    'BLOCKED_REASON_UNSPECIFIED',
    'SAFETY',
    'OTHER',
    'BLOCKLIST',
    'PROHIBITED_CONTENT',
    'MODEL_ARMOR',
    'JAILBREAK',
  ],
  harmCategory: [
    'HARM_CATEGORY_UNSPECIFIED',
    'HARM_CATEGORY_HATE_SPEECH',
    'HARM_CATEGORY_DANGEROUS_CONTENT',
    'HARM_CATEGORY_HARASSMENT',
    'HARM_CATEGORY_SEXUALLY_EXPLICIT',
    'HARM_CATEGORY_CIVIC_INTEGRITY',
    'HARM_CATEGORY_JAILBREAK',
  ],
});

/** A string enum value as is (capped), a number by the table (its decimal text when outside it). */
export const enumName = (value: unknown, table: readonly string[]): string | undefined => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return undefined;
    return table[value] ?? String(value);
  }
  return str(value);
};

/** Finish reasons that mean a safety system stopped the output (both APIs' names). */
export const SAFETY_FINISH: ReadonlySet<string> = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'MODEL_ARMOR',
]);
