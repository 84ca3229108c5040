/**
 * OpenRouter (`/api/v1`): usage on the final chunk, `: OPENROUTER PROCESSING` comments, errors as
 * chunks after HTTP 200. No injection needed.
 */
import { openAiDialect } from './openai-dialect.ts';

export const openrouter = openAiDialect({ id: 'openrouter', providerName: 'openrouter', injectUsage: false });
