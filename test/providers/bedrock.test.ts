/** Bedrock adapter edge cases (eventstreams and bodies synthesised from the documented formats). */
import { describe, expect, it } from 'vitest';
import { bedrock } from '../../providers/bedrock.ts';
import { describeStreamEdgeCases } from './edge-cases.ts';
import { awsEvent, replay } from './helpers.ts';

const requestHeaders = { 'x-amzn-requestid': 'req-1' };

describeStreamEdgeCases({
  adapter: 'bedrock',
  path: (model) => `/model/${model}/converse-stream`,
  contentType: 'application/vnd.amazon.eventstream',
  requestBody: () => ({
    messages: [{ role: 'user', content: [{ text: 'hi' }] }],
    inferenceConfig: { maxTokens: 9 },
  }),
  units: ({ usage }) => [
    awsEvent('messageStart', { role: 'assistant' }),
    awsEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hel' } }),
    awsEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'lo' } }),
    awsEvent('contentBlockStop', { contentBlockIndex: 0 }),
    awsEvent('messageStop', { stopReason: 'end_turn' }),
    awsEvent('metadata', {
      ...(usage
        ? { usage: { inputTokens: 6, outputTokens: 2, totalTokens: 8, cacheReadInputTokens: 30 } }
        : {}),
      metrics: { latencyMs: 100 },
    }),
  ],
  malformed: awsEvent('messageStop', '{"stopReason": '),
  noise: [
    awsEvent('someFutureEvent', { x: 1 }),
    awsEvent('contentBlockStart', { start: {}, contentBlockIndex: 1 }),
  ],
  responseNamesModel: false,
  expected: {
    responseId: undefined,
    finishReasons: ['end_turn'],
    // Bedrock `inputTokens` excludes cache reads: semconv input = 6 + 30.
    usage: {
      inputTokens: 36,
      outputTokens: 2,
      cacheReadInputTokens: 30,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: undefined,
    },
  },
});

const bytesChunk = (payload: unknown) =>
  awsEvent('chunk', { bytes: Buffer.from(JSON.stringify(payload)).toString('base64'), p: 'abc' });

describe('bedrock specifics (synthesised)', () => {
  it('an exception frame inside a 200 ConverseStream marks the call errored with its type', async () => {
    const call = await replay({
      adapter: 'bedrock',
      path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream',
      contentType: 'application/vnd.amazon.eventstream',
      responseHeaders: requestHeaders,
      body: Buffer.concat([
        awsEvent('messageStart', { role: 'assistant' }),
        awsEvent('throttlingException', { message: 'Too many requests' }, 'exception'),
      ]),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ThrottlingException', midStream: true });
    expect(call.request.requestModel).toBe('anthropic.claude-3-haiku-20240307-v1:0');
    expect(call.response.responseId).toBe('req-1');
  });

  it('InvokeModelWithResponseStream of a Claude model: Anthropic events in base64, metrics last', async () => {
    const call = await replay(
      {
        adapter: 'bedrock',
        path: '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke-with-response-stream',
        requestBody: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 20, messages: [] },
        contentType: 'application/vnd.amazon.eventstream',
        responseHeaders: requestHeaders,
        body: Buffer.concat([
          bytesChunk({
            type: 'message_start',
            message: {
              id: 'msg_bdrk_1',
              model: 'claude-3-5-haiku-20241022',
              usage: { input_tokens: 3, output_tokens: 1 },
            },
          }),
          bytesChunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'é✓' } }),
          bytesChunk({
            type: 'message_delta',
            delta: { stop_reason: 'max_tokens' },
            usage: { output_tokens: 20 },
          }),
          bytesChunk({
            type: 'message_stop',
            'amazon-bedrock-invocationMetrics': {
              inputTokenCount: 3,
              outputTokenCount: 20,
              cacheReadInputTokenCount: 50,
              cacheWriteInputTokenCount: 0,
            },
          }),
        ]),
      },
      'byte',
    );
    expect(call.outcome).toBe('completed');
    expect(call.response).toEqual({
      responseId: 'req-1',
      responseModel: 'claude-3-5-haiku-20241022',
      finishReasons: ['max_tokens'],
      error: undefined,
      usage: {
        inputTokens: 53,
        outputTokens: 20,
        cacheReadInputTokens: 50,
        cacheCreationInputTokens: 0,
        reasoningOutputTokens: undefined,
      },
    });
    expect(call.outputChunks).toBe(1);
    expect(call.request.params).toEqual({ maxTokens: 20 });
  });

  it('Converse JSON with cache tokens adds them to input', async () => {
    const call = await replay({
      adapter: 'bedrock',
      path: '/model/m/converse',
      contentType: 'application/json',
      responseHeaders: requestHeaders,
      body: JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: 'x' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 4, outputTokens: 1, cacheReadInputTokens: 0, cacheWriteInputTokens: 1000 },
      }),
    });
    expect(call.response.usage).toEqual({
      inputTokens: 1004,
      outputTokens: 1,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 1000,
      reasoningOutputTokens: undefined,
    });
  });

  it('an HTTP error takes its type from x-amzn-errortype', async () => {
    const call = await replay({
      adapter: 'bedrock',
      path: '/model/m/invoke',
      status: 429,
      contentType: 'application/json',
      responseHeaders: {
        'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
      },
      body: JSON.stringify({ message: 'Too many requests, please wait before trying again.' }),
    });
    expect(call.response.error).toEqual({ type: 'ThrottlingException', midStream: false });
  });

  it('InvokeModel without token headers leaves usage unknown', async () => {
    const call = await replay({
      adapter: 'bedrock',
      path: '/model/meta.llama3-8b-instruct-v1%3A0/invoke',
      contentType: 'application/json',
      body: JSON.stringify({ generation: 'hi', stop_reason: 'stop' }),
    });
    expect(call.response.finishReasons).toEqual(['stop']);
    expect(call.response.usage.inputTokens).toBeUndefined();
    expect(call.response.usage.outputTokens).toBeUndefined();
  });

  it('recognises only the four runtime operations', () => {
    const target = (path: string) => ({ method: 'POST', path, query: new URLSearchParams() });
    expect(bedrock.operationFor(target('/model/m/converse'))).toBe('chat');
    expect(
      bedrock.operationFor(
        target('/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/invoke'),
      ),
    ).toBe('chat');
    expect(bedrock.operationFor(target('/model/m/apply-guardrail'))).toBeUndefined();
    expect(bedrock.operationFor(target('/guardrail/g/version/1/apply'))).toBeUndefined();
  });
});
