/**
 * Routes that exist without any config file, for the public providers. The path after the prefix is exactly
 * the path the provider's SDK sends to the real host, so an app only swaps the origin of its base URL:
 * `https://api.openai.com/v1` → `http://127.0.0.1:4545/openai/v1`.
 */
import type { RouteConfig } from './schema.ts';

export const builtinRoutes: readonly RouteConfig[] = Object.freeze([
  { prefix: '/openai', provider: 'openai', upstream: 'https://api.openai.com' },
  { prefix: '/anthropic', provider: 'anthropic', upstream: 'https://api.anthropic.com' },
  { prefix: '/gemini', provider: 'gemini', upstream: 'https://generativelanguage.googleapis.com' },
  { prefix: '/mistral', provider: 'mistral', upstream: 'https://api.mistral.ai' },
  { prefix: '/cohere', provider: 'cohere', upstream: 'https://api.cohere.com' },
  { prefix: '/groq', provider: 'groq', upstream: 'https://api.groq.com' },
  { prefix: '/deepseek', provider: 'deepseek', upstream: 'https://api.deepseek.com' },
  { prefix: '/together', provider: 'together', upstream: 'https://api.together.xyz' },
  { prefix: '/openrouter', provider: 'openrouter', upstream: 'https://openrouter.ai' },
  { prefix: '/xai', provider: 'xai', upstream: 'https://api.x.ai' },
]);
