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
