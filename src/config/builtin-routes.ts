/**
 * Routes that exist without any config file, for the public providers. The path after the prefix is exactly
 * the path the provider's SDK sends to the real host, so an app only swaps the origin of its base URL:
 * `https://api.openai.com/v1` → `http://127.0.0.1:4545/openai/v1`.
 */
import type { RouteConfig } from './schema.ts';

/**
 * Bedrock's endpoint is regional: with a region in the environment (AWS_REGION, else AWS_DEFAULT_REGION) there is a
 * `/bedrock` route to that region's runtime, re-signing with the pod's own AWS identity (bearer API keys pass as
 * they are). Without a region there is none: a config route names it.
 */
export const bedrockRoute = (region: string | undefined): RouteConfig | undefined =>
  region !== undefined && /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)
    ? {
        prefix: '/bedrock',
        provider: 'bedrock',
        upstream: `https://bedrock-runtime.${region}.amazonaws.com`,
        signing: 'aws-sigv4',
      }
    : undefined;

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
