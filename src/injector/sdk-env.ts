/**
 * The base-URL env vars LLM SDKs read, and the llmtap route each one points at. Values are the proxy
 * origin + the route prefix + whatever base path the SDK expects (OpenAI's includes `/v1`).
 *  - openai: openai-python / openai-node `OPENAI_BASE_URL`
 *  - anthropic: anthropic SDKs `ANTHROPIC_BASE_URL`
 *  - gemini: google-genai `GOOGLE_GEMINI_BASE_URL`
 *  - azure: `AZURE_OPENAI_ENDPOINT` (AzureOpenAI clients); needs a `/azure` route to the Azure
 *    resource in the llmtap config, so it is never a default.
 *  - bedrock: `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (every AWS SDK's service-specific endpoint variable); the
 *    sidecar's built-in `/bedrock` route (from its AWS_REGION) re-signs with the pod's own AWS identity. Opt-in:
 *    an app without the pod identity llmtap signs with would otherwise stop working.
 */
export const sdkEnv = {
  openai: { env: 'OPENAI_BASE_URL', path: '/openai/v1' },
  anthropic: { env: 'ANTHROPIC_BASE_URL', path: '/anthropic' },
  gemini: { env: 'GOOGLE_GEMINI_BASE_URL', path: '/gemini' },
  azure: { env: 'AZURE_OPENAI_ENDPOINT', path: '/azure' },
  bedrock: { env: 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME', path: '/bedrock' },
} as const;

export type SdkProvider = keyof typeof sdkEnv;

export const isSdkProvider = (name: string): name is SdkProvider => Object.hasOwn(sdkEnv, name);

export const defaultProviders: readonly SdkProvider[] = ['openai', 'anthropic', 'gemini'];

/**
 * openai-node's AzureOpenAI reads OPENAI_BASE_URL before its endpoint (and throws when both are set), so
 * a container that shows Azure signs never gets OPENAI_BASE_URL from us.
 */
export const azureSigns: readonly string[] = [
  'AZURE_OPENAI_ENDPOINT',
  'AZURE_OPENAI_API_KEY',
  'OPENAI_API_VERSION',
];
