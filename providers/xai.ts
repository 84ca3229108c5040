/**
 * xAI (api.x.ai): OpenAI dialect; accepts `stream_options.include_usage`.
 */
import { openAiDialect } from './openai-dialect.ts';

export const xai = openAiDialect({ id: 'xai', providerName: 'x_ai', injectUsage: true });
