/**
 * THE registry of provider adapters: an explicit list (no file-system scanning, no registration side
 * effects). Route config names an adapter by its `id`.
 */
import type { ProviderAdapter } from '../src/adapter.ts';
import { anthropic } from './anthropic.ts';
import { azureOpenAi } from './azure-openai.ts';
import { deepseek } from './deepseek.ts';
import { groq } from './groq.ts';
import { mistral } from './mistral.ts';
import { openai } from './openai.ts';
import { openaiCompatible } from './openai-compatible.ts';
import { openrouter } from './openrouter.ts';
import { together } from './together.ts';
import { xai } from './xai.ts';

export const adapters: readonly ProviderAdapter[] = Object.freeze([
  openai,
  azureOpenAi,
  anthropic,
  mistral,
  groq,
  deepseek,
  together,
  openrouter,
  xai,
  openaiCompatible,
]);

const byId: ReadonlyMap<string, ProviderAdapter> = new Map(adapters.map((adapter) => [adapter.id, adapter]));

/** Every known adapter id, in registry order (for config validation and `--help`). */
export const adapterIds: readonly string[] = Object.freeze(adapters.map((adapter) => adapter.id));

export const adapterById = (id: string): ProviderAdapter | undefined => byId.get(id);
