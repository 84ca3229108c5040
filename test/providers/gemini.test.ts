/** Gemini / Vertex AI adapter edge cases (bodies synthesised from the documented GenerateContent format). */
import { describe, expect, it } from 'vitest';
import { gemini } from '../../providers/gemini.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { describeStreamEdgeCases, type StreamScenario } from './edge-cases.ts';
import { replay, sse } from './helpers.ts';
import { anthropicScenario } from './scenarios.ts';

const chunk = (model: string, text: string, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...extra }],
  modelVersion: model,
  responseId: 'resp-g1',
});

const usage = (candidates: number) => ({
  usageMetadata: {
    promptTokenCount: 8,
    candidatesTokenCount: candidates,
    thoughtsTokenCount: 20,
    totalTokenCount: 28 + candidates,
  },
});

const chunks = (model: string, withUsage: boolean): Record<string, unknown>[] => [
  { ...chunk(model, 'Hel'), ...(withUsage ? usage(1) : {}) },
  { ...chunk(model, 'lo'), ...(withUsage ? usage(2) : {}) },
  { ...chunk(model, '', { finishReason: 'STOP' }), ...(withUsage ? usage(3) : {}) },
];

const expected: StreamScenario['expected'] = {
  responseId: 'resp-g1',
  finishReasons: ['STOP'],
  // Cumulative: the last chunk's counts; output = candidates 3 + thoughts 20.
  usage: {
    inputTokens: 8,
    outputTokens: 23,
    cacheReadInputTokens: undefined,
    cacheCreationInputTokens: undefined,
    reasoningOutputTokens: 20,
  },
};

describeStreamEdgeCases({
  adapter: 'gemini',
  path: (model) => `/v1beta/models/${model}:streamGenerateContent?alt=sse`,
  contentType: 'text/event-stream',
  requestBody: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  units: ({ model, usage: withUsage }) => chunks(model, withUsage).map((c) => sse(c)),
  malformed: 'data: {"candidates":[{"content":\n\n',
  noise: [': keepalive\n\n', 'event: unknown\ndata: {"foo":1}\n\n'],
  responseNamesModel: true,
  expected,
});

// Without `alt=sse` the stream is one JSON array, streamed element by element.
describeStreamEdgeCases({
  adapter: 'vertex-ai',
  host: 'us-central1-aiplatform.googleapis.com',
  path: (model) =>
    `/v1/projects/p/locations/us-central1/publishers/google/models/${model}:streamGenerateContent`,
  contentType: 'application/json; charset=UTF-8',
  requestBody: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  units: ({ model, usage: withUsage }) => chunks(model, withUsage).map((c) => JSON.stringify(c, null, 2)),
  encode: (units) => `[${units.join(',\r\n')}]`,
  // Balanced brackets (the array scanner tracks depth only) but not JSON.
  malformed: '{"candidates": [oops], "x": }',
  noise: ['{"unknownField": {"a": [1, 2]}}'],
  responseNamesModel: true,
  expected,
});

// Claude as a Vertex AI partner model: Anthropic's wire format, the model in the URL, provider gcp.vertex_ai.
describeStreamEdgeCases(
  anthropicScenario(
    'vertex-ai',
    (model) => `/v1/projects/p/locations/us-east5/publishers/anthropic/models/${model}:streamRawPredict`,
    () => ({ anthropic_version: 'vertex-2023-10-16', max_tokens: 64, stream: true, messages: [] }),
  ),
);

describe('gemini specifics (synthesised)', () => {
  it('the request model is the URL path segment; the operation is generate_content', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      requestBody: {
        contents: [],
        generationConfig: {
          temperature: 0.1,
          maxOutputTokens: 50,
          topK: 3,
          candidateCount: 2,
          responseMimeType: 'application/json',
        },
      },
      contentType: 'application/json',
      body: JSON.stringify(chunk('gemini-2.5-flash-001', 'x', { finishReason: 'MAX_TOKENS' })),
    });
    expect(call.request).toEqual({
      operation: 'generate_content',
      requestModel: 'gemini-2.5-flash',
      stream: false,
      params: { temperature: 0.1, maxTokens: 50, topK: 3, choiceCount: 2, outputType: 'json' },
    });
    expect(call.response.finishReasons).toEqual(['MAX_TOKENS']);
    expect(call.response.usage.inputTokens).toBeUndefined();
  });

  it('alt=sse without a content type is still read as SSE', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/m:streamGenerateContent?alt=sse',
      body: chunks('m', true)
        .map((c) => sse(c))
        .join(''),
    });
    expect(call.response.finishReasons).toEqual(['STOP']);
    expect(call.response.usage).toEqual(expected.usage);
  });

  it('an error chunk after HTTP 200 marks the stream errored', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/m:streamGenerateContent?alt=sse',
      contentType: 'text/event-stream',
      body:
        sse(chunk('m', 'a')) + sse({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } }),
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'UNAVAILABLE', midStream: true });
  });

  it('a blocked prompt (200, no candidates) reports the block reason as its finish', async () => {
    const call = await replay({
      adapter: 'gemini',
      path: '/v1beta/models/m:generateContent',
      contentType: 'application/json',
      body: JSON.stringify({
        promptFeedback: { blockReason: 'SAFETY' },
        usageMetadata: { promptTokenCount: 4 },
      }),
    });
    expect(call.response.finishReasons).toEqual(['SAFETY']);
    expect(call.response.usage.inputTokens).toBe(4);
    expect(call.response.usage.outputTokens).toBeUndefined();
  });

  it('a recorded alt=sse stream re-encoded as a JSON array (synthesised) gives the same record', async () => {
    const fixture = loadRecordedFixtures().find(
      (f) => f.file === 'gemini/stream_generate_content_thinking.json',
    );
    if (fixture === undefined) throw new Error('fixture missing');
    const elements = fixture.response.body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice(6));
    const exchange = {
      adapter: 'gemini',
      path: fixture.request.path,
      requestBody: fixture.request.body ?? undefined,
      contentType: 'text/event-stream',
      body: fixture.response.body,
    };
    const viaSse = await replay(exchange);
    const viaArray = await replay(
      {
        ...exchange,
        path: fixture.request.path.replace('?alt=sse', ''),
        contentType: 'application/json; charset=UTF-8',
        body: `[${elements.join(',\r\n')}]`,
      },
      { random: 4, maxChunk: 31 },
    );
    expect(viaArray.response).toEqual(viaSse.response);
    expect(viaArray.outcome).toBe('completed');
    expect(viaSse.response.usage.outputTokens).toBe(469 + 787);
  });

  it('embeddings and countTokens are recognised; other methods are not', () => {
    const target = (path: string) => ({ method: 'POST', path, query: new URLSearchParams() });
    expect(gemini.operationFor(target('/v1beta/models/text-embedding-004:embedContent'))).toBe('embeddings');
    expect(gemini.operationFor(target('/v1beta/models/m:countTokens'))).toBe('count_tokens');
    expect(gemini.operationFor(target('/v1beta/models/m:predict'))).toBeUndefined();
    expect(
      gemini.operationFor({ ...target('/v1beta/models/m:generateContent'), method: 'GET' }),
    ).toBeUndefined();
  });
});
