/**
 * Wire variants with no recording yet (#17), each built from the provider's documented format and replayed through
 * the real capture tap. These bodies are synthesised from the documentation, not recorded:
 *  - Cohere v2 chat streaming (docs.cohere.com/v2/docs/streaming), vLLM/SGLang `continuous_usage_stats`
 *    (docs.vllm.ai, OpenAI-compatible server), xAI (docs.x.ai, OpenAI-compatible; usage on the last chunk before
 *    [DONE]), Ollama native NDJSON streams (ollama docs/api.md), Anthropic `pause_turn` (docs.claude.com, server
 *    tools), Gemini `finishReason: SAFETY`;
 *  - mid-stream error events of each provider, and 429/5xx error bodies, whose `error.type` is the provider's own
 *    code.
 */
import { describe, expect, it } from 'vitest';
import { awsEvent, ndjson, replay, sse } from './helpers.ts';

describe('stream variants (synthesised from the documented formats)', () => {
  it('Cohere v2: id from message-start, text deltas, finish reason and billed usage from message-end', async () => {
    const call = await replay({
      adapter: 'cohere',
      path: '/v2/chat',
      requestBody: { model: 'command-a-03-2025', stream: true, messages: [{ role: 'user', content: 'Hi' }] },
      contentType: 'text/event-stream',
      body:
        sse(
          {
            id: '29f14a5a-11de-4cae-9800-25e4747408ea',
            type: 'message-start',
            delta: { message: { role: 'assistant', content: [] } },
          },
          'message-start',
        ) +
        sse(
          { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
          'content-start',
        ) +
        sse(
          { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Hello' } } } },
          'content-delta',
        ) +
        sse(
          { type: 'content-delta', index: 0, delta: { message: { content: { text: '!' } } } },
          'content-delta',
        ) +
        sse({ type: 'content-end', index: 0 }, 'content-end') +
        sse(
          {
            type: 'message-end',
            delta: {
              finish_reason: 'COMPLETE',
              usage: {
                billed_units: { input_tokens: 3, output_tokens: 2 },
                tokens: { input_tokens: 69, output_tokens: 2 },
              },
            },
          },
          'message-end',
        ),
    });
    expect(call.outcome).toBe('completed');
    expect(call.response.responseId).toBe('29f14a5a-11de-4cae-9800-25e4747408ea');
    expect(call.response.finishReasons).toEqual(['COMPLETE']);
    expect(call.response.usage.outputTokens).toBe(2);
    expect(call.response.usage.inputTokens).toBeGreaterThan(0);
    expect(call.timing.firstOutput).toBeDefined();
  });

  it('vLLM continuous_usage_stats: usage on every chunk, the last one counts', async () => {
    const chunk = (content: string, completion: number, finish: string | null) =>
      sse({
        id: 'chatcmpl-vllm-1',
        object: 'chat.completion.chunk',
        model: 'meta-llama/Llama-3.1-8B-Instruct',
        choices: [{ index: 0, delta: { content }, finish_reason: finish }],
        usage: { prompt_tokens: 12, completion_tokens: completion, total_tokens: 12 + completion },
      });
    const call = await replay({
      adapter: 'openai-compatible',
      path: '/v1/chat/completions',
      requestBody: {
        model: 'meta-llama/Llama-3.1-8B-Instruct',
        stream: true,
        stream_options: { include_usage: true, continuous_usage_stats: true },
        messages: [],
      },
      contentType: 'text/event-stream',
      body: `${chunk('Hel', 1, null)}${chunk('lo', 2, null)}${chunk('', 3, 'stop')}data: [DONE]\n\n`,
    });
    expect(call.response.usage).toMatchObject({ inputTokens: 12, outputTokens: 3 });
    expect(call.response.finishReasons).toEqual(['stop']);
    expect(call.outcome).toBe('completed');
  });

  it('xAI: usage on the final chunk before [DONE], reasoning tokens included in output', async () => {
    const call = await replay({
      adapter: 'xai',
      path: '/v1/chat/completions',
      requestBody: { model: 'grok-4', stream: true, messages: [] },
      contentType: 'text/event-stream',
      body:
        sse({
          id: 'b7c2',
          object: 'chat.completion.chunk',
          model: 'grok-4',
          choices: [{ index: 0, delta: { content: 'Hi', role: 'assistant' } }],
        }) +
        sse({
          id: 'b7c2',
          object: 'chat.completion.chunk',
          model: 'grok-4',
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        }) +
        sse({
          id: 'b7c2',
          object: 'chat.completion.chunk',
          model: 'grok-4',
          choices: [],
          usage: {
            prompt_tokens: 20,
            completion_tokens: 1,
            total_tokens: 336,
            prompt_tokens_details: { cached_tokens: 6 },
            completion_tokens_details: { reasoning_tokens: 315 },
          },
        }) +
        'data: [DONE]\n\n',
    });
    expect(call.provider).toBe('x_ai');
    expect(call.response.usage.inputTokens).toBe(20);
    expect(call.response.usage.cacheReadInputTokens).toBe(6);
    expect(call.response.usage.reasoningOutputTokens).toBe(315);
    // xAI counts reasoning beside completion_tokens (20 + 1 + 315 = 336 total): output is 1 + 315.
    expect(call.response.usage.outputTokens).toBe(316);
    expect(call.response.finishReasons).toEqual(['stop']);
  });

  it('Ollama native NDJSON stream: counts and done_reason from the done line', async () => {
    const call = await replay({
      adapter: 'ollama',
      path: '/api/chat',
      requestBody: { model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue?' }] },
      contentType: 'application/x-ndjson',
      body:
        ndjson({
          model: 'llama3.2',
          created_at: '2023-08-04T08:52:19.385406455-07:00',
          message: { role: 'assistant', content: 'The' },
          done: false,
        }) +
        ndjson({
          model: 'llama3.2',
          created_at: '2023-08-04T08:52:19.5Z',
          message: { role: 'assistant', content: ' sky' },
          done: false,
        }) +
        ndjson({
          model: 'llama3.2',
          created_at: '2023-08-04T19:22:45.499127Z',
          message: { role: 'assistant', content: '' },
          done: true,
          done_reason: 'stop',
          total_duration: 4883583458,
          load_duration: 1334875,
          prompt_eval_count: 26,
          prompt_eval_duration: 342546000,
          eval_count: 282,
          eval_duration: 4535599000,
        }),
    });
    expect(call.request.stream).toBe(true);
    expect(call.response.usage).toMatchObject({ inputTokens: 26, outputTokens: 282 });
    expect(call.response.finishReasons).toEqual(['stop']);
    expect(call.outcome).toBe('completed');
  });

  it('Anthropic pause_turn (a server-tool turn paused for the client to continue) is a finish reason, not an error', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages',
      requestBody: { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [] },
      contentType: 'application/json',
      body: JSON.stringify({
        id: 'msg_01PauseTurn',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'weather' } },
        ],
        stop_reason: 'pause_turn',
        stop_sequence: null,
        usage: { input_tokens: 410, output_tokens: 33, server_tool_use: { web_search_requests: 1 } },
      }),
    });
    expect(call.response.finishReasons).toEqual(['pause_turn']);
    expect(call.outcome).toBe('completed');
    expect(call.response.error).toBeUndefined();
  });

  it('Gemini finishReason SAFETY in a stream: recorded as the finish reason, usage kept', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
      requestBody: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] },
      contentType: 'text/event-stream',
      body:
        sse({
          candidates: [{ content: { role: 'model', parts: [{ text: 'I' }] }, index: 0 }],
          modelVersion: 'gemini-2.5-flash',
        }) +
        sse({
          candidates: [
            {
              finishReason: 'SAFETY',
              index: 0,
              safetyRatings: [
                { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
              ],
            },
          ],
          usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 1, totalTokenCount: 9 },
          modelVersion: 'gemini-2.5-flash',
        }),
    });
    expect(call.response.finishReasons).toEqual(['SAFETY']);
    expect(call.response.usage).toMatchObject({ inputTokens: 8, outputTokens: 1 });
  });
});

describe('mid-stream errors: the provider’s own code is error.type (synthesised)', () => {
  it('OpenAI chat: data: {"error":…} after HTTP 200', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: { model: 'gpt-4o', stream: true, messages: [] },
      contentType: 'text/event-stream',
      body:
        sse({
          id: 'chatcmpl-1',
          object: 'chat.completion.chunk',
          model: 'gpt-4o',
          choices: [{ index: 0, delta: { content: 'Hi' } }],
        }) +
        sse({
          error: {
            message: 'The server had an error while processing your request.',
            type: 'server_error',
            code: null,
          },
        }),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'server_error', midStream: true });
  });

  it('OpenAI Responses: an error event', async () => {
    const call = await replay({
      adapter: 'openai',
      path: '/v1/responses',
      requestBody: { model: 'gpt-4.1', stream: true, input: 'x' },
      contentType: 'text/event-stream',
      body:
        sse(
          {
            type: 'response.created',
            sequence_number: 0,
            response: { id: 'resp_1', model: 'gpt-4.1', status: 'in_progress' },
          },
          'response.created',
        ) +
        sse(
          {
            type: 'error',
            sequence_number: 1,
            code: 'rate_limit_exceeded',
            message: 'slow down',
            param: null,
          },
          'error',
        ),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'rate_limit_exceeded', midStream: true });
  });

  it('Anthropic: event: error with overloaded_error', async () => {
    const call = await replay({
      adapter: 'anthropic',
      path: '/v1/messages',
      requestBody: { model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, messages: [] },
      contentType: 'text/event-stream',
      body:
        sse(
          {
            type: 'message_start',
            message: {
              id: 'msg_1',
              type: 'message',
              role: 'assistant',
              model: 'claude-sonnet-4-5',
              content: [],
              usage: { input_tokens: 10, output_tokens: 1 },
            },
          },
          'message_start',
        ) + sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'overloaded_error', midStream: true });
    expect(call.response.usage.inputTokens).toBe(10);
  });

  it('Gemini: an error object chunk after HTTP 200', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
      requestBody: { contents: [] },
      contentType: 'text/event-stream',
      body:
        sse({ candidates: [{ content: { role: 'model', parts: [{ text: 'I' }] }, index: 0 }] }) +
        sse({
          error: {
            code: 503,
            message: 'The model is overloaded. Please try again later.',
            status: 'UNAVAILABLE',
          },
        }),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'UNAVAILABLE', midStream: true });
  });

  it('Bedrock ConverseStream: an exception frame (throttlingException)', async () => {
    const call = await replay({
      adapter: 'bedrock',
      host: 'bedrock-runtime.us-east-1.amazonaws.com',
      path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream',
      requestBody: { messages: [] },
      contentType: 'application/vnd.amazon.eventstream',
      body: Buffer.concat([
        awsEvent('messageStart', { role: 'assistant' }),
        awsEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }),
        awsEvent(
          'throttlingException',
          { message: 'Too many tokens, please wait before trying again.' },
          'exception',
        ),
      ]),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ThrottlingException', midStream: true });
  });

  it('Ollama: an {"error":…} line inside a 200 stream', async () => {
    const call = await replay({
      adapter: 'ollama',
      path: '/api/generate',
      requestBody: { model: 'llama3.2', prompt: 'x' },
      contentType: 'application/x-ndjson',
      body:
        ndjson({ model: 'llama3.2', response: 'a', done: false }) +
        ndjson({ error: 'an error was encountered while running the model' }),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error?.midStream).toBe(true);
  });
});

describe('429/5xx error bodies: error.type from the provider’s own code (synthesised)', () => {
  const cases: {
    name: string;
    adapter: string;
    path: string;
    status: number;
    body: unknown;
    headers?: Record<string, string>;
    type: string;
  }[] = [
    {
      name: 'OpenAI 429 rate_limit_exceeded',
      adapter: 'openai',
      path: '/v1/chat/completions',
      status: 429,
      body: {
        error: {
          message: 'Rate limit reached for gpt-4o',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      },
      type: 'rate_limit_exceeded',
    },
    {
      name: 'OpenAI 429 insufficient_quota',
      adapter: 'openai',
      path: '/v1/chat/completions',
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          param: null,
          code: 'insufficient_quota',
        },
      },
      type: 'insufficient_quota',
    },
    {
      name: 'Anthropic 529 overloaded_error',
      adapter: 'anthropic',
      path: '/v1/messages',
      status: 529,
      body: {
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
        request_id: 'req_011',
      },
      type: 'overloaded_error',
    },
    {
      name: 'Anthropic 429 rate_limit_error',
      adapter: 'anthropic',
      path: '/v1/messages',
      status: 429,
      body: {
        type: 'error',
        error: {
          type: 'rate_limit_error',
          message: 'Number of request tokens has exceeded your per-minute rate limit',
        },
      },
      type: 'rate_limit_error',
    },
    {
      name: 'Gemini 429 RESOURCE_EXHAUSTED',
      adapter: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      status: 429,
      body: {
        error: { code: 429, message: 'You exceeded your current quota', status: 'RESOURCE_EXHAUSTED' },
      },
      type: 'RESOURCE_EXHAUSTED',
    },
    {
      name: 'Gemini 503 UNAVAILABLE',
      adapter: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      status: 503,
      body: { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } },
      type: 'UNAVAILABLE',
    },
    {
      name: 'Bedrock 429 ThrottlingException (x-amzn-errortype)',
      adapter: 'bedrock',
      path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
      status: 429,
      headers: {
        'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
      },
      body: { message: 'Too many requests, please wait before trying again.' },
      type: 'ThrottlingException',
    },
    {
      name: 'Mistral 429',
      adapter: 'mistral',
      path: '/v1/chat/completions',
      status: 429,
      body: {
        object: 'error',
        message: 'Requests rate limit exceeded',
        type: 'rate_limited',
        param: null,
        code: '1300',
      },
      type: 'rate_limited',
    },
    {
      name: 'vLLM 500 (object: error)',
      adapter: 'openai-compatible',
      path: '/v1/chat/completions',
      status: 500,
      body: {
        object: 'error',
        message: 'CUDA out of memory',
        type: 'InternalServerError',
        param: null,
        code: 500,
      },
      type: 'InternalServerError',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const call = await replay({
        adapter: c.adapter,
        path: c.path,
        requestBody: { model: 'm', messages: [] },
        status: c.status,
        contentType: 'application/json',
        ...(c.headers === undefined ? {} : { responseHeaders: c.headers }),
        body: JSON.stringify(c.body),
      });
      expect(call.httpStatus).toBe(c.status);
      expect(call.response.error).toEqual({ type: c.type, midStream: false });
    });
  }
});
