/**
 * Hand-built `LlmCall`s and `CallContext`s for telemetry unit tests. The numbers mirror recorded
 * fixtures where named (e.g. the Anthropic cache-read exchange), so the expected telemetry is what a real
 * provider reported, not something invented here.
 */
import type { RouteConfig } from '../../src/config/schema.ts';
import type { LogFields, Logger } from '../../src/log.ts';
import type { CallContext } from '../../src/proxy/tap.ts';
import type { LlmCall } from '../../src/record.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const T0 = 1_780_000_000_000.25;

export const openaiRoute: RouteConfig = {
  prefix: '/openai',
  provider: 'openai',
  upstream: 'https://api.openai.com',
};

export const contextFor = (
  headers: Record<string, string | string[] | undefined> = {},
  route: RouteConfig = openaiRoute,
  path = '/v1/chat/completions',
): CallContext => ({
  route,
  target: { method: 'POST', path, query: new URLSearchParams() },
  upstreamUrl: new URL(`${route.upstream}${path}`),
  requestHeaders: headers,
  start: T0,
});

/**
 * A streaming OpenAI chat call as the capture pipeline would hand it over; usage, ids and models from
 * openai/chat_nonstream_prompt_cache.json (synthesised as streaming: timing and chunk count are invented).
 */
export const chatCall = (overrides: Partial<Mutable<LlmCall>> = {}): LlmCall => ({
  adapterId: 'openai',
  provider: 'openai',
  routePrefix: '/openai',
  request: {
    operation: 'chat',
    requestModel: 'gpt-4o-mini',
    stream: true,
    params: { temperature: 0.2, maxTokens: 256, stopSequences: ['END'] },
  },
  response: {
    responseId: 'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7',
    responseModel: 'gpt-4o-mini-2024-07-18',
    usage: {
      inputTokens: 1149,
      outputTokens: 353,
      cacheReadInputTokens: 1024,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: 0,
    },
    finishReasons: ['stop'],
    error: undefined,
  },
  outcome: 'completed',
  httpStatus: 200,
  transportError: undefined,
  serverAddress: 'api.openai.com',
  serverPort: 443,
  timing: {
    start: T0,
    upstreamRequestSent: T0 + 0.4,
    upstreamFirstByte: T0 + 180,
    clientFirstByte: T0 + 180.3,
    firstOutput: T0 + 250,
    end: T0 + 1250,
  },
  outputChunks: 11,
  truncated: false,
  ...overrides,
});

/** An Anthropic non-streaming call with cache reads: numbers from messages_nonstream_cache_read.json. */
export const anthropicCall = (overrides: Partial<Mutable<LlmCall>> = {}): LlmCall =>
  chatCall({
    adapterId: 'anthropic',
    provider: 'anthropic',
    routePrefix: '/anthropic',
    request: { operation: 'chat', requestModel: 'claude-3-5-sonnet-20240620', stream: false, params: {} },
    response: {
      responseId: 'msg_01YGB3PuEANUSkLuzemhtNVF',
      responseModel: 'claude-3-5-sonnet-20240620',
      usage: {
        // Semconv input = input_tokens 4 + cache_read 1163 + cache_creation 0.
        inputTokens: 1167,
        outputTokens: 202,
        cacheReadInputTokens: 1163,
        cacheCreationInputTokens: 0,
        reasoningOutputTokens: undefined,
      },
      finishReasons: ['end_turn'],
      error: undefined,
    },
    serverAddress: 'api.anthropic.com',
    timing: {
      start: T0,
      upstreamRequestSent: T0 + 0.5,
      upstreamFirstByte: T0 + 900,
      clientFirstByte: T0 + 900.2,
      firstOutput: undefined,
      end: T0 + 950,
    },
    outputChunks: 0,
    ...overrides,
  });

/** A logger that keeps every line (as the real logger would serialise it) for greps. */
export const memoryLogger = (): Logger & { lines: string[]; text(): string } => {
  const lines: string[] = [];
  const write = (level: string, msg: string, fields?: LogFields): void => {
    lines.push(JSON.stringify({ level, msg, ...fields }));
  };
  return {
    level: 'debug',
    lines,
    text: () => lines.join('\n'),
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    warnRateLimited: (_key, msg, fields) => write('warn', msg, fields),
    flush: () => {},
  };
};
