/**
 * OpenAI (api.openai.com): the dialect itself, with streaming usage injection.
 */
import { openAiDialect } from './openai-dialect.ts';

export const openai = openAiDialect({ id: 'openai', providerName: 'openai', injectUsage: true });
