/**
 * Wire variants through the whole product (#17): documented-example exchanges (test/providers/documented/
 * fixtures.ts, not recordings) served by a loopback upstream, sent through llmtap by the real `openai` and
 * `@anthropic-ai/sdk` clients (and fetch for the others), and the OTLP/HTTP protobuf llmtap exports decoded here.
 * Proves the provider's own code reaches `error.type` on the span AND on `gen_ai.client.operation.duration`, and
 * that xAI's reasoning tokens reach the token metric and the cost.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { replayHeaders, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  anthropicOverloadedMidStream,
  bedrockInvokeStreamThrottled,
  cohereStreamError,
  type DocumentedFixture,
  geminiResourceExhausted,
  geminiSafetyJsonArray,
  openaiRateLimited,
  vllmContinuousUsage,
  xaiReasoning,
} from '../providers/documented/fixtures.ts';
import { asFixture } from '../providers/helpers.ts';

let upstream: Upstream;
let receiver: OtlpReceiver;
let app: TestLlmtap;
let serving: DocumentedFixture = openaiRateLimited;

/** The span of the call to `model` (answered with `status`, when two calls used the model). */
const spanOf = (model: string, status?: number): ReceivedSpan => {
  const found = receiver.spans.find(
    (span) =>
      span.attributes['gen_ai.request.model'] === model &&
      (status === undefined || span.attributes['http.response.status_code'] === status),
  );
  if (found === undefined) throw new Error(`no span for ${model}; got ${receiver.spans.map((s) => s.name)}`);
  return found;
};

const durationErrorTypes = (): Map<string, number> => {
  const out = new Map<string, number>();
  for (const metric of receiver.metrics) {
    if (metric.name !== 'gen_ai.client.operation.duration') continue;
    for (const point of metric.points) {
      const type = point.attributes['error.type'];
      if (typeof type === 'string') out.set(type, (out.get(type) ?? 0) + (point.count ?? 0));
    }
  }
  return out;
};

/** POSTs the fixture's request through llmtap with fetch and reads the whole answer. */
const send = async (prefix: string, fixture: DocumentedFixture): Promise<Response> => {
  serving = fixture;
  const response = await fetch(`${app.server.dataUrl}${prefix}${fixture.exchange.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fixture.exchange.requestBody),
  });
  await response.arrayBuffer();
  return response;
};

beforeAll(async () => {
  upstream = await startUpstream(async (_req, res) => {
    const recorded = asFixture(serving.exchange);
    res.writeHead(recorded.response.status, replayHeaders(recorded));
    const body = wireBody(recorded);
    // Small pieces with a yield between them: the stream arrives incrementally, as from a provider.
    for (let offset = 0; offset < body.length; offset += 97) {
      res.write(body.subarray(offset, offset + 97));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  receiver = await startOtlpReceiver();
  app = await startFullLlmtap(
    {
      routes: [
        { prefix: '/openai', provider: 'openai', upstream: upstream.url },
        { prefix: '/anthropic', provider: 'anthropic', upstream: upstream.url },
        { prefix: '/gemini', provider: 'gemini', upstream: upstream.url },
        { prefix: '/bedrock', provider: 'bedrock', upstream: upstream.url },
        { prefix: '/cohere', provider: 'cohere', upstream: upstream.url },
        { prefix: '/xai', provider: 'xai', upstream: upstream.url },
        { prefix: '/vllm', provider: 'openai-compatible', upstream: upstream.url },
      ],
    },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '60000' },
  );

  // OpenAI 429 through the real SDK: it throws RateLimitError, exactly as without llmtap.
  serving = openaiRateLimited;
  const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${app.server.dataUrl}/openai/v1`, maxRetries: 0 });
  await expect(
    openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  ).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });

  // Anthropic `event: error` mid-stream through the real SDK: the SDK surfaces overloaded_error.
  serving = anthropicOverloadedMidStream;
  const anthropic = new Anthropic({
    apiKey: 'sk-ant-test',
    baseURL: `${app.server.dataUrl}/anthropic`,
    maxRetries: 0,
  });
  await expect(
    anthropic.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage(),
  ).rejects.toThrow(/overloaded/i);

  expect((await send('/gemini', geminiResourceExhausted)).status).toBe(429);
  expect((await send('/bedrock', bedrockInvokeStreamThrottled)).status).toBe(200);
  expect((await send('/cohere', cohereStreamError)).status).toBe(200);
  expect((await send('/xai', xaiReasoning)).status).toBe(200);
  expect((await send('/gemini', geminiSafetyJsonArray)).status).toBe(200);

  // vLLM continuous_usage_stats through the real openai SDK: usage on every chunk, one call's worth counted.
  serving = vllmContinuousUsage;
  const vllm = new OpenAI({ apiKey: 'EMPTY', baseURL: `${app.server.dataUrl}/vllm/v1`, maxRetries: 0 });
  const stream = await vllm.chat.completions.create({
    model: 'Qwen/Qwen2.5-1.5B-Instruct',
    stream: true,
    stream_options: {
      include_usage: true,
      continuous_usage_stats: true,
    } as OpenAI.ChatCompletionStreamOptions,
    messages: [{ role: 'user', content: 'Say hi' }],
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe('Hi there!');

  await receiver.waitFor(() => app.requestLogs().length === 8, 10_000, 'eight request log lines');
  // Shutdown flushes the batched spans and the (60 s) metric interval.
  await app.shutdown();
});

afterAll(async () => {
  await receiver.close();
  await upstream.close();
});

describe('error.type from the provider’s own code, on the span and on the duration metric', () => {
  const cases: [model: string, type: string, status: number][] = [
    ['gpt-4o-mini', 'rate_limit_exceeded', 429],
    ['claude-sonnet-4-5', 'overloaded_error', 200],
    ['gemini-2.5-flash', 'RESOURCE_EXHAUSTED', 429],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'ThrottlingException', 200],
    ['command-a-03-2025', 'ERROR', 200],
  ];
  for (const [model, type, status] of cases) {
    it(`${model}: ${type}${status === 200 ? ' (mid-stream, after HTTP 200)' : ` (HTTP ${status})`}`, () => {
      const span = spanOf(model, status);
      expect(span.attributes['error.type']).toBe(type);
      expect(span.status.code).toBe('STATUS_CODE_ERROR');
      expect(span.attributes['http.response.status_code']).toBe(status);
      expect(durationErrorTypes().get(type)).toBe(1);
    });
  }

  it('the request log line names the same error type and outcome', () => {
    const line = app.requestLogs().find((entry) => entry.model === 'claude-sonnet-4-5');
    expect(line).toMatchObject({ outcome: 'errored', errorType: 'overloaded_error' });
  });

  it('a mid-stream error keeps the usage reported before it (Anthropic message_start: 25 input)', () => {
    expect(spanOf('claude-sonnet-4-5').attributes['gen_ai.usage.input_tokens']).toBe(25);
  });
});

describe('xAI reasoning tokens through the proxy', () => {
  it('the span’s output tokens include reasoning (9 + 94), and the cost prices them as output', () => {
    const span = spanOf('grok-4');
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.attributes).toMatchObject({
      'gen_ai.provider.name': 'x_ai',
      'gen_ai.response.model': 'grok-4-0709',
      'gen_ai.usage.input_tokens': 32,
      'gen_ai.usage.output_tokens': 103,
      'gen_ai.usage.cache_read.input_tokens': 6,
    });
    // grok-4 list price per 1M: $3 input, $0.75 cached input, $15 output: 26 × 3 + 6 × 0.75 + 103 × 15.
    expect(span.attributes['gen_ai.usage.cost']).toBeCloseTo((26 * 3 + 6 * 0.75 + 103 * 15) / 1e6, 12);
  });

  it('the token metric counts 103 output tokens for the call', () => {
    const points = receiver.metrics
      .filter((m) => m.name === 'gen_ai.client.token.usage')
      .flatMap((m) => m.points)
      .filter(
        (p) =>
          p.attributes['gen_ai.request.model'] === 'grok-4' && p.attributes['gen_ai.token.type'] === 'output',
      );
    expect(points.reduce((sum, p) => sum + (p.sum ?? 0), 0)).toBe(103);
  });
});

describe('finish reasons that are not errors, and continuous usage, through the proxy', () => {
  it('Gemini SAFETY: finish reason on the span, no error.type, status unset', () => {
    const safety = spanOf('gemini-2.5-flash', 200);
    expect(safety.attributes['gen_ai.response.finish_reasons']).toEqual(['SAFETY']);
    expect(safety.attributes['error.type']).toBeUndefined();
    expect(safety.status.code).toBe('STATUS_CODE_UNSET');
  });

  it('vLLM continuous_usage_stats: one call, 21 input and 3 output tokens on the metric (no sum over chunks)', () => {
    const points = receiver.metrics
      .filter((m) => m.name === 'gen_ai.client.token.usage')
      .flatMap((m) => m.points)
      .filter((p) => p.attributes['gen_ai.request.model'] === 'Qwen/Qwen2.5-1.5B-Instruct');
    const of = (type: string) => points.filter((p) => p.attributes['gen_ai.token.type'] === type);
    expect(of('input').reduce((n, p) => n + (p.count ?? 0), 0)).toBe(1);
    expect(of('input').reduce((n, p) => n + (p.sum ?? 0), 0)).toBe(21);
    expect(of('output').reduce((n, p) => n + (p.sum ?? 0), 0)).toBe(3);
    expect(spanOf('Qwen/Qwen2.5-1.5B-Instruct').attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 21,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': ['stop'],
    });
  });
});
