/**
 * THE registry of provider adapters: an explicit list (no file-system scanning, no registration side
 * effects). Route config names an adapter by its `id`.
 */
import type { ProviderAdapter } from '../src/adapter.ts';
import { anthropic } from './anthropic.ts';
import { azureOpenAi } from './azure-openai.ts';
import { bedrock } from './bedrock.ts';
import { cohere } from './cohere.ts';
import { deepseek } from './deepseek.ts';
import { gemini } from './gemini.ts';
import { groq } from './groq.ts';
import { mistral } from './mistral.ts';
import { ollama } from './ollama.ts';
import { openai } from './openai.ts';
import { openaiCompatible } from './openai-compatible.ts';
import { openrouter } from './openrouter.ts';
import { together } from './together.ts';
import { vertexAi } from './vertex-ai.ts';
import { xai } from './xai.ts';

export const adapters: readonly ProviderAdapter[] = Object.freeze([
  openai,
  azureOpenAi,
  anthropic,
  gemini,
  vertexAi,
  bedrock,
  cohere,
  mistral,
  groq,
  deepseek,
  together,
  openrouter,
  xai,
  ollama,
  openaiCompatible,
]);

const byId: ReadonlyMap<string, ProviderAdapter> = new Map(adapters.map((adapter) => [adapter.id, adapter]));

/** Every known adapter id, in registry order (for config validation and `--help`). */
export const adapterIds: readonly string[] = Object.freeze(adapters.map((adapter) => adapter.id));

export const adapterById = (id: string): ProviderAdapter | undefined => byId.get(id);
