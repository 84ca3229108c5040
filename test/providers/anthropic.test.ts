/** Anthropic adapter edge cases (bodies synthesised from the documented Messages streaming format). */
import { describe, expect, it } from 'vitest';
import { anthropic } from '../../providers/anthropic.ts';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { replay, sse } from './helpers.ts';
import { anthropicScenario, anthropicStart } from './scenarios.ts';

const start = anthropicStart;

describeStreamEdgeCases(anthropicScenario('anthropic', '/v1/messages'));

describe('anthropic specifics (synthesised)', () => {
  it('an `event: error` mid-stream (overloaded) marks the call errored', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages',
      requestBody: { model: 'claude-x', stream: true, max_tokens: 5, messages: [] },
      contentType: 'text/event-stream',
      body:
        start('claude-x', true) +
        sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'overloaded_error', midStream: true });
    expect(call.response.responseId).toBe('msg_1');
  });

  it('a 529 overloaded body gives its error type', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages',
      status: 529,
      requestBody: { model: 'claude-x', max_tokens: 5, messages: [] },
      contentType: 'application/json',
      body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    });
    expect(call.response.error).toEqual({ type: 'overloaded_error', midStream: false });
  });

  it('count_tokens is its own operation and reports no usage (nothing was generated)', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages/count_tokens',
      requestBody: { model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] },
      contentType: 'application/json',
      body: JSON.stringify({ input_tokens: 12 }),
    });
    expect(call.request.operation).toBe('count_tokens');
    expect(call.response.usage.inputTokens).toBeUndefined();
    expect(call.outcome).toBe('completed');
  });

  it('reads request parameters', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages',
      requestBody: {
        model: 'claude-x',
        max_tokens: 64,
        temperature: 1,
        top_p: 0.5,
        top_k: 40,
        stop_sequences: ['\n\nHuman:'],
        messages: [],
      },
      contentType: 'application/json',
      body: JSON.stringify({
        id: 'msg_2',
        model: 'claude-x',
        stop_reason: 'end_turn',
        usage: { input_tokens: 3 },
      }),
    });
    expect(call.request.params).toEqual({
      maxTokens: 64,
      temperature: 1,
      topP: 0.5,
      topK: 40,
      stopSequences: ['\n\nHuman:'],
    });
    // Output tokens absent from the body stay unknown; cache fields absent stay unknown.
    expect(call.response.usage).toEqual({
      inputTokens: 3,
      outputTokens: undefined,
      cacheReadInputTokens: undefined,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: undefined,
    });
  });

  it('legacy /v1/complete streams: completion events, the stop reason ends the stream', async () => {
    const event = (completion: string, stop: string | null) =>
      sse(
        { type: 'completion', id: 'compl_1', completion, stop_reason: stop, model: 'claude-2.1', stop: null },
        'completion',
      );
    const call = await replay(
      {
        adapter: 'anthropic',
        path: '/v1/complete',
        requestBody: {
          model: 'claude-2.1',
          prompt: '\n\nHuman: hi\n\nAssistant:',
          max_tokens_to_sample: 9,
          stream: true,
        },
        contentType: 'text/event-stream',
        body:
          event(' Hel', null) +
          sse({ type: 'ping' }, 'ping') +
          event('lo', null) +
          event('', 'stop_sequence'),
      },
      'byte',
    );
    expect(call.request.operation).toBe('text_completion');
    expect(call.request.params.maxTokens).toBe(9);
    expect(call.outcome).toBe('completed');
    expect(call.outputChunks).toBe(2);
    expect(call.response).toEqual({
      responseId: 'compl_1',
      responseModel: 'claude-2.1',
      finishReasons: ['stop_sequence'],
      error: undefined,
      usage: {
        inputTokens: undefined,
        outputTokens: undefined,
        cacheReadInputTokens: undefined,
        cacheCreationInputTokens: undefined,
        reasoningOutputTokens: undefined,
      },
    });
  });

  it('GET and unknown paths are not LLM calls', () => {
    const target = (method: string, path: string) => ({ method, path, query: new URLSearchParams() });
    expect(anthropic.operationFor(target('GET', '/v1/models'))).toBeUndefined();
    expect(anthropic.operationFor(target('POST', '/v1/messages/batches'))).toBeUndefined();
    expect(anthropic.operationFor(target('POST', '/v1/complete'))).toBe('text_completion');
  });
});
