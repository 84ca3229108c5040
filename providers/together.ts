/**
 * Together AI: OpenAI dialect; usage is usually on the finish chunk. No injection: support for
 * `stream_options` is undocumented and a rejected request would break the app.
 */
import { openAiDialect } from './openai-dialect.ts';

export const together = openAiDialect({ id: 'together', providerName: 'together_ai', injectUsage: false });
