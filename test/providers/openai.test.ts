/** OpenAI-dialect adapter edge cases (all bodies synthesised from the documented wire format). */
import { describe, expect, it } from 'vitest';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { replay, sse } from './helpers.ts';
import { chunk, openAiChatScenario } from './scenarios.ts';

describeStreamEdgeCases(openAiChatScenario('openai'));

const responseObject = (model: string, status: string, usage: boolean) => ({
  id: 'resp_1',
  object: 'response',
  status,
  model,
  output: [],
  usage: usage
    ? {
        input_tokens: 20,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 30,
        output_tokens_details: { reasoning_tokens: 12 },
        total_tokens: 50,
      }
    : null,
});

describeStreamEdgeCases({
  adapter: 'openai',
  path: '/v1/responses',
  contentType: 'text/event-stream; charset=utf-8',
  requestBody: (model) => ({ model, stream: true, input: 'hi' }),
  units: ({ model, usage }) => [
    sse(
      { type: 'response.created', response: responseObject(model, 'in_progress', false) },
      'response.created',
    ),
    sse({ type: 'response.output_text.delta', delta: 'Hel' }, 'response.output_text.delta'),
    sse({ type: 'response.output_text.delta', delta: 'lo' }, 'response.output_text.delta'),
    sse({ type: 'response.output_text.done', text: 'Hello' }, 'response.output_text.done'),
    sse(
      { type: 'response.completed', response: responseObject(model, 'completed', usage) },
      'response.completed',
    ),
  ],
  malformed: 'event: response.in_progress\ndata: {"type":"response.in_progress","response":{\n\n',
  noise: [': keep-alive\n\n', sse({ type: 'response.future_thing', x: 1 }, 'response.future_thing')],
  responseNamesModel: true,
  expected: {
    responseId: 'resp_1',
    finishReasons: [],
    usage: {
      inputTokens: 20,
      outputTokens: 30,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: 12,
    },
  },
});

describe('openai specifics (synthesised)', () => {
  const chat = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] };

  it('an `event: error` inside a 200 stream marks the call errored with the provider code', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: chat,
      contentType: 'text/event-stream',
      body:
        sse(chunk('gpt-4o', [{ index: 0, delta: { content: 'a' }, finish_reason: null }])) +
        sse({ error: { type: 'server_error', code: 'overloaded', message: 'try again' } }, 'error'),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'overloaded', midStream: true });
    expect(call.response.responseId).toBe('chatcmpl-1');
  });

  it("vLLM's in-stream error object marks the call errored", async () => {
    const call = await replay({
      adapter: 'openai-compatible',
      path: '/v1/chat/completions',
      requestBody: chat,
      contentType: 'text/event-stream',
      body: sse({ object: 'error', message: 'boom', type: 'BadRequestError', code: 400 }) + sse('[DONE]'),
    });
    expect(call.response.error).toEqual({ type: 'BadRequestError', midStream: true });
    expect(call.outcome).toBe('errored');
  });

  it('n>1: one finish reason per choice, in choice order, whatever order they arrive in', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: { ...chat, n: 2 },
      contentType: 'text/event-stream',
      body:
        sse(chunk('gpt-4o', [{ index: 1, delta: { content: 'b' }, finish_reason: null }])) +
        sse(chunk('gpt-4o', [{ index: 1, delta: {}, finish_reason: 'length' }])) +
        sse(chunk('gpt-4o', [{ index: 0, delta: {}, finish_reason: 'stop' }])) +
        sse('[DONE]'),
    });
    expect(call.response.finishReasons).toEqual(['stop', 'length']);
    expect(call.request.params.choiceCount).toBe(2);
  });

  it('Responses `response.failed` is an error carrying the response error code', async () => {
    const failed = {
      ...responseObject('gpt-4o', 'failed', false),
      error: { code: 'server_error', message: 'x' },
    };
    const call = await replay({
      adapter: 'openai',
      path: '/v1/responses',
      requestBody: { model: 'gpt-4o', stream: true, input: 'hi' },
      contentType: 'text/event-stream',
      body: sse({ type: 'response.failed', response: failed }, 'response.failed'),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'server_error', midStream: true });
  });

  it('Responses `error` event', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/responses',
      requestBody: { model: 'gpt-4o', stream: true, input: 'hi' },
      contentType: 'text/event-stream',
      body: sse({ type: 'error', code: 'rate_limit_exceeded', message: 'slow down' }, 'error'),
    });
    expect(call.response.error).toEqual({ type: 'rate_limit_exceeded', midStream: true });
  });

  it('request parameters are read as sent', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: {
        ...chat,
        stream: false,
        temperature: 0.2,
        top_p: 0.9,
        max_completion_tokens: 100,
        seed: 7,
        stop: 'END',
        frequency_penalty: 0.5,
        presence_penalty: -0.5,
        response_format: { type: 'json_schema', json_schema: {} },
      },
      contentType: 'application/json',
      body: JSON.stringify({ id: 'c', model: 'gpt-4o', choices: [{ index: 0, finish_reason: 'stop' }] }),
    });
    expect(call.request.params).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 100,
      seed: 7,
      stopSequences: ['END'],
      frequencyPenalty: 0.5,
      presencePenalty: -0.5,
      outputType: 'json',
    });
    expect(call.request.stream).toBe(false);
  });

  it('non-LLM paths are not LLM calls', async () => {
    const { openai } = await import('../../providers/openai.ts');
    const target = (method: string, path: string) => ({ method, path, query: new URLSearchParams() });
    expect(openai.operationFor(target('GET', '/v1/models'))).toBeUndefined();
    expect(openai.operationFor(target('GET', '/v1/responses/resp_1'))).toBeUndefined();
    expect(openai.operationFor(target('POST', '/v1/files'))).toBeUndefined();
    expect(openai.operationFor(target('POST', '/v1/chat/completions/'))).toBe('chat');
    expect(openai.operationFor(target('POST', '/v1/images/generations'))).toBe('image_generation');
  });

  it('Azure: the deployment names the request model when the body does not', async () => {
    const call = await replay({
      adapter: 'azure-openai',
      path: '/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21',
      requestBody: { messages: [{ role: 'user', content: 'hi' }] },
      contentType: 'application/json',
      body: JSON.stringify({
        id: 'c',
        model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, finish_reason: 'stop' }],
      }),
    });
    expect(call.request.requestModel).toBe('my-gpt4o');
    expect(call.response.responseModel).toBe('gpt-4o-2024-08-06');
    expect(call.provider).toBe('azure.ai.openai');
  });
});

describe('non-JSON success bodies (synthesised)', () => {
  it('a 200 HTML page instead of JSON is not a completed call', async () => {
    for (const adapterId of ['openai', 'bedrock', 'cohere', 'anthropic', 'gemini', 'ollama']) {
      const path = {
        openai: '/v1/chat/completions',
        bedrock: '/model/m/converse',
        cohere: '/v2/chat',
        anthropic: '/v1/messages',
        gemini: '/v1beta/models/m:generateContent',
        ollama: '/api/chat',
      }[adapterId];
      const call = await replay({
        adapter: adapterId,
        path: path ?? '',
        requestBody: { model: 'm', stream: false, messages: [] },
        contentType: 'text/html',
        body: '<html>captive portal</html>',
      });
      expect(call.outcome, adapterId).toBe('incomplete');
      expect(call.response.error, adapterId).toBeUndefined();
    }
  });
});
