/**
 * DeepSeek: streams usage (with `prompt_cache_hit_tokens`) unasked, so no injection.
 */
import { openAiDialect } from './openai-dialect.ts';

export const deepseek = openAiDialect({ id: 'deepseek', providerName: 'deepseek', injectUsage: false });
