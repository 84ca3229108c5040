/**
 * OpenAI (api.openai.com): the dialect itself, with streaming usage injection.
 */
import { defineAdapter } from '../src/adapter.ts';
import { openAiDialect } from './openai-dialect.ts';
import { openAiRealtime } from './realtime.ts';

export const openai = defineAdapter({
  ...openAiDialect({ id: 'openai', providerName: 'openai', injectUsage: true }),
  realtime: openAiRealtime,
});
