/**
 * Vertex AI's Gemini API (`/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:…`): the
 * Gemini wire format under another provider name. Partner models (`publishers/anthropic/…:rawPredict`)
 * are not parsed yet: their calls are forwarded and recorded without GenAI facts.
 */
import { geminiApi } from './gemini.ts';

export const vertexAi = geminiApi('vertex-ai', 'gcp.vertex_ai');
