/** Ollama adapter edge cases (bodies synthesised from ollama's documented NDJSON API). */
import { describe, expect, it } from 'vitest';
import { ollama } from '../../providers/ollama.ts';
import { INCLUDE_USAGE_MEMBER } from '../../providers/stream-usage.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { ndjson, replay, sse } from './helpers.ts';

const line = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  ndjson({
    model,
    created_at: '2024-01-01T00:00:00Z',
    message: { role: 'assistant', content },
    done: false,
    ...extra,
  });

describeStreamEdgeCases({
  adapter: 'ollama',
  path: '/api/chat',
  contentType: 'application/x-ndjson',
  // Native endpoints stream by default: no `stream` member.
  requestBody: (model) => ({
    model,
    messages: [{ role: 'user', content: 'hi' }],
    options: { temperature: 0 },
  }),
  units: ({ model, usage }) => [
    line(model, 'Hel'),
    line(model, 'lo'),
    line(model, ''),
    line(model, '', {
      done: true,
      done_reason: 'stop',
      total_duration: 1000,
      ...(usage ? { prompt_eval_count: 12, eval_count: 3 } : {}),
    }),
  ],
  malformed: '{"model":"x","message":{"content":"a"\n',
  noise: ['\n', ndjson({ status: 'loading model' })],
  responseNamesModel: true,
  expected: {
    responseId: undefined,
    finishReasons: ['stop'],
    usage: {
      inputTokens: 12,
      outputTokens: 3,
      cacheReadInputTokens: undefined,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: undefined,
    },
  },
});

describe('ollama specifics (synthesised)', () => {
  it('an error line inside a 200 stream marks the call errored', async () => {
    const call = await replay({
      adapter: 'ollama',
      path: '/api/generate',
      requestBody: { model: 'llama3', prompt: 'hi' },
      contentType: 'application/x-ndjson',
      body:
        ndjson({ model: 'llama3', response: 'a', done: false }) +
        ndjson({ error: 'an unknown error was encountered' }),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: '_OTHER', midStream: true });
    expect(call.request.operation).toBe('text_completion');
    expect(call.request.stream).toBe(true);
  });

  it('the OpenAI-compatible /v1 API goes through the shared dialect', async () => {
    const call = await replay({
      adapter: 'ollama',
      path: '/v1/chat/completions',
      requestBody: { model: 'llama3', stream: true, messages: [] },
      contentType: 'text/event-stream',
      body:
        sse({
          id: 'chatcmpl-9',
          model: 'llama3',
          choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }],
        }) +
        sse({
          id: 'chatcmpl-9',
          model: 'llama3',
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
          usage: { prompt_tokens: 4, completion_tokens: 1 },
        }) +
        sse('[DONE]'),
    });
    expect(call.provider).toBe('ollama');
    expect(call.response.responseId).toBe('chatcmpl-9');
    expect(call.response.usage.inputTokens).toBe(4);
    expect(call.outcome).toBe('completed');
  });

  it('stream:false native calls are one JSON body; /api/embed counts input tokens', async () => {
    const call = await replay({
      adapter: 'ollama',
      path: '/api/embed',
      requestBody: { model: 'all-minilm', input: ['a'] },
      contentType: 'application/json',
      body: JSON.stringify({ model: 'all-minilm', embeddings: [[0.1]], prompt_eval_count: 2 }),
    });
    expect(call.request.operation).toBe('embeddings');
    expect(call.request.stream).toBe(false);
    expect(call.response.usage.inputTokens).toBe(2);
    expect(call.response.usage.outputTokens).toBeUndefined();
  });

  it('injects stream_options on the OpenAI-compatible /v1/chat/completions only, never on native paths', () => {
    const asAdapter: ProviderAdapter = ollama;
    const body = { model: 'llama3', stream: true, messages: [{ role: 'user', content: 'hi' }] };
    const target = (path: string) => ({ method: 'POST', path, query: new URLSearchParams() });
    const patch = asAdapter.streamUsage?.patchRequest;
    expect(patch?.(body, target('/v1/chat/completions'))).toBe(INCLUDE_USAGE_MEMBER);
    // A native body looks like an OpenAI one: the path decides.
    expect(patch?.(body, target('/api/chat'))).toBeUndefined();
    expect(patch?.(body, target('/api/generate'))).toBeUndefined();
    expect(patch?.(body, target('/v1/embeddings'))).toBeUndefined();
    expect(patch?.({ ...body, stream: false }, target('/v1/chat/completions'))).toBeUndefined();
    expect(patch?.(body)).toBeUndefined();
  });
});
