/** Cohere adapter edge cases (bodies synthesised from the documented v2 streaming format). */
import { describe, expect, it } from 'vitest';
import { cohere } from '../../providers/cohere.ts';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { replay, sse } from './helpers.ts';

describeStreamEdgeCases({
  adapter: 'cohere',
  path: '/v2/chat',
  contentType: 'text/event-stream',
  requestBody: (model) => ({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  units: ({ usage }) => [
    sse({ id: 'co-1', type: 'message-start', delta: { message: { role: 'assistant' } } }, 'message-start'),
    sse(
      { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
      'content-start',
    ),
    sse(
      { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Hel' } } } },
      'content-delta',
    ),
    sse(
      { type: 'content-delta', index: 0, delta: { message: { content: { text: 'lo' } } } },
      'content-delta',
    ),
    sse({ type: 'content-end', index: 0 }, 'content-end'),
    sse(
      {
        type: 'message-end',
        delta: {
          finish_reason: 'COMPLETE',
          ...(usage
            ? {
                usage: {
                  billed_units: { input_tokens: 5, output_tokens: 2 },
                  tokens: { input_tokens: 70, output_tokens: 3 },
                },
              }
            : {}),
        },
      },
      'message-end',
    ),
    'data: [DONE]\n\n',
  ],
  malformed: 'event: message-end\ndata: {"type":"message-end","delta":{\n\n',
  noise: [
    ': ping\n\n',
    sse({ type: 'citation-start', index: 0 }, 'citation-start'),
    sse({ type: 'x-new' }, 'x-new'),
  ],
  responseNamesModel: false,
  expected: {
    responseId: 'co-1',
    finishReasons: ['COMPLETE'],
    // Billed units, not the larger `tokens` (which include Cohere's own preamble).
    usage: {
      inputTokens: 5,
      outputTokens: 2,
      cacheReadInputTokens: undefined,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: undefined,
    },
  },
});

describe('cohere specifics (synthesised)', () => {
  it('an error in message-end marks the stream errored', async () => {
    const call = await replay({
      adapter: 'cohere',
      path: '/v2/chat',
      requestBody: { model: 'command-r', stream: true, messages: [] },
      contentType: 'text/event-stream',
      body:
        sse({ id: 'co-2', type: 'message-start' }, 'message-start') +
        sse({ type: 'message-end', delta: { finish_reason: 'ERROR', error: 'internal' } }, 'message-end'),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ERROR', midStream: true });
  });

  it('v1 streamed tool calls (tool-calls-generation, documented shape) are captured with their parameters', async () => {
    const call = await replay(
      {
        adapter: 'cohere',
        path: '/v1/chat',
        requestBody: { model: 'command-r', stream: true, message: 'weather?' },
        contentType: 'application/stream+json',
        body: [
          { is_finished: false, event_type: 'stream-start', generation_id: 'gen-2' },
          {
            is_finished: false,
            event_type: 'tool-calls-generation',
            tool_calls: [
              { name: 'get_weather', parameters: { location: 'Tokyo' } },
              { name: 'get_time', parameters: {} },
            ],
          },
          { is_finished: true, event_type: 'stream-end', finish_reason: 'COMPLETE' },
        ]
          .map((line) => `${JSON.stringify(line)}\n`)
          .join(''),
      },
      { random: 3 },
      { captureContent: true },
    );
    expect(call.content?.outputMessages).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'tool_call', id: '', name: 'get_weather', arguments: '{"location":"Tokyo"}' },
          { type: 'tool_call', id: '', name: 'get_time', arguments: '{}' },
        ],
        finish_reason: 'COMPLETE',
      },
    ]);
    expect(call.outputChunks).toBe(1);
  });

  it('v1 chat streams NDJSON (application/stream+json)', async () => {
    const call = await replay(
      {
        adapter: 'cohere',
        path: '/v1/chat',
        requestBody: { model: 'command', stream: true, message: 'hi' },
        contentType: 'application/stream+json',
        body: [
          { is_finished: false, event_type: 'stream-start', generation_id: 'gen-1' },
          { is_finished: false, event_type: 'text-generation', text: 'hi' },
          {
            is_finished: true,
            event_type: 'stream-end',
            finish_reason: 'MAX_TOKENS',
            response: { meta: { billed_units: { input_tokens: 1, output_tokens: 9 } } },
          },
        ]
          .map((line) => `${JSON.stringify(line)}\n`)
          .join(''),
      },
      'byte',
    );
    expect(call.response.responseId).toBe('gen-1');
    expect(call.response.finishReasons).toEqual(['MAX_TOKENS']);
    expect(call.response.usage.inputTokens).toBe(1);
    expect(call.response.usage.outputTokens).toBe(9);
    expect(call.outcome).toBe('completed');
  });

  it('operations by path; request parameters with Cohere names', async () => {
    const target = (path: string) => ({ method: 'POST', path, query: new URLSearchParams() });
    expect(cohere.operationFor(target('/v2/rerank'))).toBe('rerank');
    expect(cohere.operationFor(target('/v1/generate'))).toBe('text_completion');
    expect(cohere.operationFor(target('/v1/datasets'))).toBeUndefined();
    const call = await replay({
      adapter: 'cohere',
      path: '/v2/chat',
      requestBody: {
        model: 'command-r',
        messages: [],
        temperature: 0.3,
        p: 0.75,
        k: 5,
        max_tokens: 10,
        seed: 1,
      },
      contentType: 'application/json',
      body: JSON.stringify({
        id: 'x',
        finish_reason: 'COMPLETE',
        usage: { billed_units: { input_tokens: 2 } },
      }),
    });
    expect(call.request.params).toEqual({ temperature: 0.3, topP: 0.75, topK: 5, maxTokens: 10, seed: 1 });
    expect(call.response.usage.outputTokens).toBeUndefined();
  });
});
