/**
 * Mistral (api.mistral.ai): usage arrives on the final chunk unasked; its strict request validation
 * is a reason not to inject `stream_options`.
 */
import { openAiDialect } from './openai-dialect.ts';

export const mistral = openAiDialect({ id: 'mistral', providerName: 'mistral_ai', injectUsage: false });
