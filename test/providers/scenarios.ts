/** Synthesised OpenAI-dialect chat stream scenario, shared by every OpenAI-compatible vendor's tests. */
import type { StreamScenario } from './edge-cases.ts';
import { sse } from './helpers.ts';

export const chunk = (model: string, choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model,
  choices,
  ...extra,
});

export const openAiChatScenario = (adapter: string, path = '/v1/chat/completions'): StreamScenario => ({
  adapter,
  path,
  contentType: 'text/event-stream',
  requestBody: (model) => ({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  units: ({ model, usage }) => [
    sse(chunk(model, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])),
    sse(chunk(model, [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }])),
    sse(chunk(model, [{ index: 0, delta: { content: 'lo' }, finish_reason: null }])),
    sse(chunk(model, [{ index: 0, delta: {}, finish_reason: 'stop' }])),
    ...(usage
      ? [
          sse(
            chunk(model, [], {
              usage: {
                prompt_tokens: 9,
                completion_tokens: 2,
                total_tokens: 11,
                prompt_tokens_details: { cached_tokens: 4 },
                completion_tokens_details: { reasoning_tokens: 0 },
              },
            }),
          ),
        ]
      : []),
    sse('[DONE]'),
  ],
  malformed: 'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"x"\n\n',
  noise: [': OPENROUTER PROCESSING\n\n', 'event: ping\ndata: {}\n\n', 'event: mystery\ndata: {"foo":1}\n\n'],
  responseNamesModel: true,
  expected: {
    responseId: 'chatcmpl-1',
    finishReasons: ['stop'],
    usage: {
      inputTokens: 9,
      outputTokens: 2,
      cacheReadInputTokens: 4,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: 0,
    },
  },
});

/** A synthesised Anthropic Messages stream (also served by Vertex AI for Claude partner models). */
export const anthropicStart = (model: string, usage: boolean) =>
  sse(
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        ...(usage
          ? {
              usage: {
                input_tokens: 10,
                cache_read_input_tokens: 100,
                cache_creation_input_tokens: 5,
                output_tokens: 1,
              },
            }
          : {}),
      },
    },
    'message_start',
  );

export const anthropicScenario = (
  adapter: string,
  path: StreamScenario['path'],
  requestBody: StreamScenario['requestBody'] = (model) => ({
    model,
    max_tokens: 64,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  }),
): StreamScenario => ({
  adapter,
  path,
  contentType: 'text/event-stream; charset=utf-8',
  requestBody,
  units: ({ model, usage }) => [
    anthropicStart(model, usage),
    sse(
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      'content_block_start',
    ),
    sse(
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
      'content_block_delta',
    ),
    sse(
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
      'content_block_delta',
    ),
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse(
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        ...(usage ? { usage: { output_tokens: 7 } } : {}),
      },
      'message_delta',
    ),
    sse({ type: 'message_stop' }, 'message_stop'),
  ],
  malformed: 'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":\n\n',
  noise: [
    sse({ type: 'ping' }, 'ping'),
    ': comment\n\n',
    sse({ type: 'brand_new_event', x: 1 }, 'brand_new_event'),
  ],
  responseNamesModel: true,
  expected: {
    responseId: 'msg_1',
    finishReasons: ['end_turn'],
    // semconv: input includes cache reads and writes (10 + 100 + 5).
    usage: {
      inputTokens: 115,
      outputTokens: 7,
      cacheReadInputTokens: 100,
      cacheCreationInputTokens: 5,
      reasoningOutputTokens: undefined,
    },
  },
});
