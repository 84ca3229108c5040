/**
 * The built-in price table: list prices in USD per 1M tokens of the built-in providers' current models, each
 * group with the date the prices were read and their source. Standard tier, on-demand, the short-context tier
 * where a provider charges more for long prompts, Anthropic cache writes at the 5-minute TTL rate. Prices go
 * stale: bump `version` with every change (it is on every priced span), and users correct entries with
 * `LLMTAP_PRICES` (see `providers/prices.ts`).
 */
import type { ModelPrice, PriceTable } from './prices.ts';

/** [input, output, cacheRead?, cacheWrite?] per 1M tokens. */
type Row = readonly [number, number, number?, number?];

const group = (
  asOf: string,
  source: string,
  rows: Readonly<Record<string, Row>>,
): Record<string, ModelPrice> => {
  const out: Record<string, ModelPrice> = {};
  for (const [id, [input, output, cacheRead, cacheWrite]] of Object.entries(rows)) {
    out[id.toLowerCase()] = { input, output, cacheRead, cacheWrite, asOf, source };
  }
  return out;
};

const openai = group('2025-10-01', 'https://platform.openai.com/docs/pricing', {
  'gpt-5': [1.25, 10, 0.125],
  'gpt-5-mini': [0.25, 2, 0.025],
  'gpt-5-nano': [0.05, 0.4, 0.005],
  'gpt-5-chat-latest': [1.25, 10, 0.125],
  'gpt-4.1': [2, 8, 0.5],
  'gpt-4.1-mini': [0.4, 1.6, 0.1],
  'gpt-4.1-nano': [0.1, 0.4, 0.025],
  'gpt-4o': [2.5, 10, 1.25],
  // The first gpt-4o snapshot kept its launch price: an exact id beats the dated-id rule.
  'gpt-4o-2024-05-13': [5, 15],
  'gpt-4o-mini': [0.15, 0.6, 0.075],
  o1: [15, 60, 7.5],
  'o1-mini': [1.1, 4.4, 0.55],
  'o1-pro': [150, 600],
  o3: [2, 8, 0.5],
  'o3-mini': [1.1, 4.4, 0.55],
  'o3-pro': [20, 80],
  'o4-mini': [1.1, 4.4, 0.275],
  'gpt-4-turbo': [10, 30],
  'gpt-4': [30, 60],
  'gpt-3.5-turbo': [0.5, 1.5],
  'gpt-3.5-turbo-instruct': [1.5, 2],
  'davinci-002': [2, 2],
  'babbage-002': [0.4, 0.4],
  'text-embedding-3-small': [0.02, 0],
  'text-embedding-3-large': [0.13, 0],
  'text-embedding-ada-002': [0.1, 0],
});

const anthropic = group('2025-11-24', 'https://docs.claude.com/en/docs/about-claude/pricing', {
  'claude-opus-4-5': [5, 25, 0.5, 6.25],
  'claude-opus-4-1': [15, 75, 1.5, 18.75],
  'claude-opus-4': [15, 75, 1.5, 18.75],
  'claude-sonnet-4-5': [3, 15, 0.3, 3.75],
  'claude-sonnet-4': [3, 15, 0.3, 3.75],
  'claude-3-7-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-5-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-sonnet': [3, 15, 0.3, 3.75],
  'claude-haiku-4-5': [1, 5, 0.1, 1.25],
  'claude-3-5-haiku': [0.8, 4, 0.08, 1],
  'claude-3-haiku': [0.25, 1.25, 0.03, 0.3],
  'claude-3-opus': [15, 75, 1.5, 18.75],
  'claude-2.1': [8, 24],
  'claude-2.0': [8, 24],
  'claude-instant-1.2': [0.8, 2.4],
});

const gemini = group('2025-11-20', 'https://ai.google.dev/gemini-api/docs/pricing', {
  'gemini-3-pro-preview': [2, 12, 0.2],
  'gemini-2.5-pro': [1.25, 10, 0.125],
  'gemini-2.5-flash': [0.3, 2.5, 0.03],
  'gemini-2.5-flash-lite': [0.1, 0.4, 0.01],
  'gemini-2.0-flash': [0.1, 0.4, 0.025],
  'gemini-2.0-flash-lite': [0.075, 0.3],
  'gemini-1.5-pro': [1.25, 5, 0.3125],
  'gemini-1.5-flash': [0.075, 0.3, 0.01875],
  'gemini-1.5-flash-8b': [0.0375, 0.15, 0.01],
  'gemini-embedding-001': [0.15, 0],
});

const mistral = group('2025-10-01', 'https://mistral.ai/pricing#api-pricing', {
  'mistral-large': [2, 6],
  'mistral-medium': [0.4, 2],
  'mistral-small': [0.1, 0.3],
  'magistral-medium': [2, 5],
  'magistral-small': [0.5, 1.5],
  codestral: [0.3, 0.9],
  'devstral-small': [0.1, 0.3],
  'devstral-medium': [0.4, 2],
  'pixtral-large': [2, 6],
  'pixtral-12b': [0.15, 0.15],
  'ministral-8b': [0.1, 0.1],
  'ministral-3b': [0.04, 0.04],
  'open-mistral-nemo': [0.15, 0.15],
  'mistral-embed': [0.1, 0],
});

const groq = group('2025-10-01', 'https://groq.com/pricing', {
  'llama-3.3-70b-versatile': [0.59, 0.79],
  'llama-3.1-8b-instant': [0.05, 0.08],
  'llama3-70b-8192': [0.59, 0.79],
  'llama3-8b-8192': [0.05, 0.08],
  'meta-llama/llama-4-scout-17b-16e-instruct': [0.11, 0.34],
  'meta-llama/llama-4-maverick-17b-128e-instruct': [0.2, 0.6],
  'openai/gpt-oss-120b': [0.15, 0.75],
  'openai/gpt-oss-20b': [0.1, 0.5],
  'qwen/qwen3-32b': [0.29, 0.59],
  'moonshotai/kimi-k2-instruct': [1, 3],
  'gemma2-9b-it': [0.2, 0.2],
});

// DeepSeek bills cache hits separately; `prompt_tokens` = hits + misses, which is the semconv input.
const deepseek = group('2025-10-01', 'https://api-docs.deepseek.com/quick_start/pricing', {
  'deepseek-chat': [0.28, 0.42, 0.028],
  'deepseek-reasoner': [0.28, 0.42, 0.028],
});

const xai = group('2025-10-01', 'https://docs.x.ai/docs/models', {
  'grok-4': [3, 15, 0.75],
  'grok-4-fast-reasoning': [0.2, 0.5, 0.05],
  'grok-4-fast-non-reasoning': [0.2, 0.5, 0.05],
  'grok-code-fast-1': [0.2, 1.5, 0.02],
  'grok-3': [3, 15, 0.75],
  'grok-3-mini': [0.3, 0.5, 0.075],
  'grok-2': [2, 10],
});

// Cohere names releases by date (`command-r-08-2024`) and old and new releases differ in price; the bare
// `command-r`/`command-r-plus` aliases point at older releases, so they are left unpriced rather than guessed.
const cohere = group('2025-10-01', 'https://cohere.com/pricing', {
  'command-a-03-2025': [2.5, 10],
  'command-r-plus-08-2024': [2.5, 10],
  'command-r-08-2024': [0.15, 0.6],
  'command-r7b-12-2024': [0.0375, 0.15],
  command: [1, 2],
  'command-light': [0.3, 0.6],
  'embed-v4.0': [0.12, 0],
  'embed-english-v3.0': [0.1, 0],
  'embed-multilingual-v3.0': [0.1, 0],
  'embed-english-light-v3.0': [0.1, 0],
  'embed-multilingual-light-v3.0': [0.1, 0],
});

const together = group('2025-10-01', 'https://www.together.ai/pricing', {
  'meta-llama/llama-3.3-70b-instruct-turbo': [0.88, 0.88],
  'meta-llama/meta-llama-3.1-8b-instruct-turbo': [0.18, 0.18],
  'meta-llama/meta-llama-3.1-70b-instruct-turbo': [0.88, 0.88],
  'meta-llama/meta-llama-3.1-405b-instruct-turbo': [3.5, 3.5],
  'meta-llama/llama-4-maverick-17b-128e-instruct-fp8': [0.27, 0.85],
  'meta-llama/llama-4-scout-17b-16e-instruct': [0.18, 0.59],
  'deepseek-ai/deepseek-v3': [1.25, 1.25],
  'deepseek-ai/deepseek-r1': [3, 7],
  'qwen/qwen2.5-72b-instruct-turbo': [1.2, 1.2],
  'qwen/qwen2.5-7b-instruct-turbo': [0.3, 0.3],
  'mistralai/mixtral-8x7b-instruct-v0.1': [0.6, 0.6],
  'openai/gpt-oss-120b': [0.15, 0.6],
  'openai/gpt-oss-20b': [0.05, 0.2],
});

// Bedrock's own models; Bedrock's Anthropic models are priced from the Anthropic table (same list price).
const bedrock = group('2025-10-01', 'https://aws.amazon.com/bedrock/pricing/', {
  'amazon.nova-premier': [2.5, 12.5, 0.625],
  'amazon.nova-pro': [0.8, 3.2, 0.2],
  'amazon.nova-lite': [0.06, 0.24, 0.015],
  'amazon.nova-micro': [0.035, 0.14, 0.00875],
  'amazon.titan-text-premier': [0.5, 1.5],
  'amazon.titan-text-express': [0.2, 0.6],
  'amazon.titan-text-lite': [0.15, 0.2],
  'amazon.titan-embed-text-v1': [0.1, 0],
  'amazon.titan-embed-text-v2': [0.02, 0],
  'meta.llama3-8b-instruct': [0.3, 0.6],
  'meta.llama3-70b-instruct': [2.65, 3.5],
  'meta.llama3-1-8b-instruct': [0.22, 0.22],
  'meta.llama3-1-70b-instruct': [0.72, 0.72],
  'meta.llama3-1-405b-instruct': [2.4, 2.4],
  'meta.llama3-2-1b-instruct': [0.1, 0.1],
  'meta.llama3-2-3b-instruct': [0.15, 0.15],
  'meta.llama3-2-11b-instruct': [0.16, 0.16],
  'meta.llama3-2-90b-instruct': [0.72, 0.72],
  'meta.llama3-3-70b-instruct': [0.72, 0.72],
  'meta.llama2-13b-chat': [0.75, 1],
  'meta.llama2-70b-chat': [1.95, 2.56],
  'cohere.command-text': [1.5, 2],
  'cohere.command-light-text': [0.3, 0.6],
  'cohere.command-r-plus': [3, 15],
  'cohere.command-r': [0.5, 1.5],
  'ai21.j2-ultra': [18.8, 18.8],
  'ai21.j2-mid': [12.5, 12.5],
  'anthropic.claude-v2': [8, 24],
  'anthropic.claude-instant': [0.8, 2.4],
});

/** The built-in table. Bump `version` whenever a price changes. */
export const builtinPrices: PriceTable = {
  version: 'builtin-2025-11-24',
  providers: {
    openai,
    anthropic,
    'gcp.gemini': gemini,
    mistral_ai: mistral,
    groq,
    deepseek,
    x_ai: xai,
    cohere,
    together_ai: together,
    'aws.bedrock': bedrock,
  },
  aliases: {
    openai: { 'text-embedding-ada-002-v2': 'text-embedding-ada-002', 'gpt-4o-latest': 'gpt-4o' },
    anthropic: {
      'claude-sonnet-4-0': 'claude-sonnet-4',
      'claude-opus-4-0': 'claude-opus-4',
      'claude-3-5-sonnet-v2': 'claude-3-5-sonnet',
      'claude-3-7-sonnet-v1': 'claude-3-7-sonnet',
    },
    mistral_ai: {
      'mistral-large-2': 'mistral-large',
      'mistral-small-3': 'mistral-small',
    },
    x_ai: { 'grok-4-0709': 'grok-4' },
  },
};
