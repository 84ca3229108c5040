/**
 * Groq (`/openai/v1`): streams usage unasked (top-level or legacy `x_groq.usage`), so no injection.
 */
import { openAiDialect } from './openai-dialect.ts';

export const groq = openAiDialect({ id: 'groq', providerName: 'groq', injectUsage: false });
