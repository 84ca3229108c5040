/**
 * End to end: the real `openai` and `@anthropic-ai/sdk` clients → the whole llmtap (config, adapters,
 * capture, telemetry, proxy) → a local upstream replaying recorded exchanges; the real OTLP/HTTP protobuf
 * exporters → the in-test receiver. Expected token counts come from each fixture's `expected` block.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import {
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const fixtures = new Map(loadRecordedFixtures().map((fixture) => [fixture.file, fixture]));
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.get(file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

const openaiStream = fixture('openai/chat_stream_include_usage.json');
const openaiCached = fixture('openai/chat_nonstream_prompt_cache.json');
const anthropicStream = fixture('anthropic/messages_stream.json');

const appTraceId = '0af7651916cd43dd8448eb211c80319c';
const appSpanId = 'b7ad6b7169203331';
const canaryOpenAi = 'sk-proj-E2ECANARYopenai0123456789';
const canaryAnthropic = 'sk-ant-E2ECANARYanthropic0123456789';
const canaryXApiKey = 'E2ECANARYxapikey0123456789abcdef';
const canaryAzure = 'E2ECANARYazure0123456789abcdef';
const canaryGoog = 'AIzaE2ECANARYgoog0123456789abcdefgh';
const canaryQuery = 'E2ECANARYquery0123456789abcdef';

let upstream: Upstream;
let serving: RecordedFixture = openaiStream;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmtap-e2e-podinfo-'));
  await writeFile(
    join(dir, 'labels'),
    'app.kubernetes.io/instance="chatbot"\npod-template-hash="6c9d4f7b8"\n',
  );
  await writeFile(join(dir, 'annotations'), 'resource.opentelemetry.io/service.version="2.4.1"\n');
  upstream = await startUpstream(async (_req, res) => {
    res.writeHead(serving.response.status, replayHeaders(serving));
    const body = wireBody(serving);
    // Small pieces with a yield between them, so the stream really arrives incrementally.
    for (let offset = 0; offset < body.length; offset += 211) {
      res.write(body.subarray(offset, offset + 211));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
});

afterAll(async () => {
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

const podEnv = (): Record<string, string> => ({
  LLMTAP_PODINFO_DIR: dir,
  K8S_POD_NAME: 'chatbot-web-6c9d4f7b8-qw7zt',
  K8S_NAMESPACE_NAME: 'assistants',
  K8S_POD_UID: '7c1f2a9e-0000-4000-8000-00000000abcd',
  K8S_NODE_NAME: 'worker-3',
  K8S_POD_IP: '10.244.3.17',
});

const startProduct = (env: Record<string, string>): Promise<TestLlmtap> =>
  startFullLlmtap(
    {
      routes: [
        { prefix: '/openai', provider: 'openai', upstream: upstream.url },
        { prefix: '/anthropic', provider: 'anthropic', upstream: upstream.url },
      ],
    },
    { ...podEnv(), ...env },
  );

const openaiClient = (app: TestLlmtap): OpenAI =>
  new OpenAI({
    apiKey: canaryOpenAi,
    baseURL: `${app.server.dataUrl}/openai/v1`,
    maxRetries: 0,
    defaultHeaders: { traceparent: `00-${appTraceId}-${appSpanId}-01`, tracestate: 'app=1' },
  });

const streamChat = async (app: TestLlmtap): Promise<string> => {
  serving = openaiStream;
  const stream = await openaiClient(app).chat.completions.create({
    model: 'gpt-3.5-turbo',
    messages: [{ role: 'user', content: 'Tell me a funny joke, a one-liner.' }],
    stream: true,
    temperature: 0.7,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
};

const spanNamed = (receiver: OtlpReceiver, name: string): ReceivedSpan => {
  const found = receiver.spans.find((span) => span.name === name);
  if (found === undefined)
    throw new Error(`no span named ${name}; got ${receiver.spans.map((s) => s.name).join(', ')}`);
  return found;
};

const metricIn = (receiver: OtlpReceiver, name: string, exportIndex?: number): ReceivedMetric => {
  const found = receiver.metrics.find(
    (m) => m.name === name && (exportIndex === undefined || m.exportIndex === exportIndex),
  );
  if (found === undefined) throw new Error(`metric ${name} not exported`);
  return found;
};

describe('through the proxy with real SDK clients', () => {
  let receiver: OtlpReceiver;
  let app: TestLlmtap;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    app = await startProduct({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
    });
    const text = await streamChat(app);
    expect(text.length).toBeGreaterThan(0);

    serving = openaiCached;
    // Every other place a provider key travels, all at once: the telemetry must see none of them.
    const keyed = new OpenAI({
      apiKey: canaryOpenAi,
      baseURL: `${app.server.dataUrl}/openai/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-api-key': canaryXApiKey, 'api-key': canaryAzure, 'x-goog-api-key': canaryGoog },
      defaultQuery: { key: canaryQuery },
    });
    const completion = await keyed.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(completion.usage?.prompt_tokens).toBe(1149);

    serving = anthropicStream;
    const anthropic = new Anthropic({
      apiKey: canaryAnthropic,
      baseURL: `${app.server.dataUrl}/anthropic`,
      maxRetries: 0,
    });
    const message = await anthropic.messages
      .stream({
        model: 'claude-3-haiku-20240307',
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }],
      })
      .finalMessage();
    expect(message.usage.output_tokens).toBe(171);
    // The log line is written once the copy drained, just after the client got its last byte.
    await receiver.waitFor(() => app.requestLogs().length === 3, 5000, 'three request log lines');
    await app.shutdown();
  });

  afterAll(async () => {
    await receiver.close();
  });

  it('exports one CLIENT span per call, child of the app span, with the fixture’s facts', () => {
    expect(receiver.spans).toHaveLength(3);
    const span = spanNamed(receiver, 'chat gpt-3.5-turbo');
    expect(span.kind).toBe('SPAN_KIND_CLIENT');
    expect(span.traceId).toBe(appTraceId);
    expect(span.parentSpanId).toBe(appSpanId);
    expect(span.traceState).toBe('app=1');
    const { expected } = openaiStream;
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': expected.request_model,
      'gen_ai.response.model': expected.model,
      'gen_ai.response.id': expected.response_id,
      'gen_ai.response.finish_reasons': expected.finish_reasons,
      'gen_ai.usage.input_tokens': expected.input_tokens,
      'gen_ai.usage.output_tokens': expected.output_tokens,
      'gen_ai.request.stream': true,
      'gen_ai.request.temperature': 0.7,
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'http.response.status_code': 200,
    });
    // gpt-3.5-turbo list price: 18 × $0.50 + 15 × $1.50 per 1M.
    expect(span.attributes['gen_ai.usage.cost']).toBeCloseTo(0.0000315, 12);
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    expect(span.attributes).not.toHaveProperty('gen_ai.usage.cache_read.input_tokens');
    expect(span.status.code).toBe('STATUS_CODE_UNSET');
    expect(Number(span.endNs - span.startNs)).toBeGreaterThan(0);

    const cached = spanNamed(receiver, 'chat gpt-4o-mini');
    expect(cached.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(1024);
    expect(cached.attributes).not.toHaveProperty('gen_ai.request.stream');

    const claude = spanNamed(receiver, 'chat claude-3-haiku-20240307');
    expect(claude.parentSpanId).toBe('');
    expect(claude.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 17,
      'gen_ai.usage.output_tokens': 171,
      'gen_ai.response.finish_reasons': ['end_turn'],
    });
    expect(claude.attributes['gen_ai.usage.cost']).toBeCloseTo(0.000218, 12);
  });

  it('forwards the trace context of llmtap’s span upstream', () => {
    const span = spanNamed(receiver, 'chat gpt-3.5-turbo');
    const sent = upstream.received.find((r) => r.headers.traceparent?.includes(span.spanId));
    expect(sent?.headers.traceparent).toBe(`00-${appTraceId}-${span.spanId}-01`);
    expect(sent?.headers.tracestate).toBe('app=1');
  });

  it('describes the app in the resource, from the Downward-API env and podinfo folder', () => {
    const resource = spanNamed(receiver, 'chat gpt-3.5-turbo').resource;
    expect(resource).toMatchObject({
      'service.name': 'chatbot',
      'service.version': '2.4.1',
      'service.namespace': 'assistants',
      'k8s.pod.name': 'chatbot-web-6c9d4f7b8-qw7zt',
      'k8s.namespace.name': 'assistants',
      'k8s.pod.uid': '7c1f2a9e-0000-4000-8000-00000000abcd',
      'k8s.node.name': 'worker-3',
      'k8s.pod.ip': '10.244.3.17',
      'k8s.deployment.name': 'chatbot-web',
      'k8s.replicaset.name': 'chatbot-web-6c9d4f7b8',
    });
    expect(resource).not.toHaveProperty('k8s.container.name');
    expect(receiver.metrics[0]?.resource).toEqual(resource);
  });

  it('exports the GenAI metrics, every data point DELTA', () => {
    const tokens = metricIn(receiver, 'gen_ai.client.token.usage');
    expect(tokens.unit).toBe('{token}');
    const input = tokens.points.find(
      (p) =>
        p.attributes['gen_ai.request.model'] === 'gpt-3.5-turbo' &&
        p.attributes['gen_ai.token.type'] === 'input',
    );
    expect(input).toMatchObject({ count: 1, sum: 18 });
    expect(input?.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': upstream.port });
    const names = new Set(receiver.metrics.map((m) => m.name));
    for (const name of [
      'gen_ai.client.token.usage',
      'gen_ai.client.operation.duration',
      'gen_ai.client.operation.time_to_first_chunk',
      'gen_ai.usage.cost',
      'llmtap.proxy.overhead',
    ]) {
      expect(names, name).toContain(name);
    }
    for (const m of receiver.metrics) expect(m.temporality, m.name).toBe('AGGREGATION_TEMPORALITY_DELTA');
    const overhead = metricIn(receiver, 'llmtap.proxy.overhead');
    expect(overhead.points.reduce((n, p) => n + (p.count ?? 0), 0)).toBe(3);
  });

  it('writes the call facts into the request log line', () => {
    const line = app.requestLogs().find((entry) => entry.model === 'gpt-3.5-turbo');
    expect(line).toMatchObject({
      provider: 'openai',
      operation: 'chat',
      responseModel: 'gpt-3.5-turbo-0125',
      inputTokens: 18,
      outputTokens: 15,
      outcome: 'completed',
      traceId: appTraceId,
    });
    expect(line?.costUsd).toBeCloseTo(0.0000315, 12);
    expect(line?.ttfcMs).toBeGreaterThan(0);
  });

  it('never exports or logs the API keys (Authorization, x-api-key, api-key, x-goog-api-key, ?key=)', () => {
    const exported = receiver.allBytes();
    const logs = app.logs.join('\n');
    for (const canary of [
      canaryOpenAi,
      canaryAnthropic,
      canaryXApiKey,
      canaryAzure,
      canaryGoog,
      canaryQuery,
    ]) {
      expect(exported.includes(canary)).toBe(false);
      expect(logs.includes(canary)).toBe(false);
    }
    // The keys did reach the upstream: the canaries were really in play.
    expect(upstream.received.some((r) => r.headers.authorization === `Bearer ${canaryOpenAi}`)).toBe(true);
    expect(upstream.received.some((r) => JSON.stringify(r.headers).includes(canaryAnthropic))).toBe(true);
    const keyed = upstream.received.find((r) => r.url.includes(`key=${canaryQuery}`));
    expect(keyed?.headers).toMatchObject({
      'x-api-key': canaryXApiKey,
      'api-key': canaryAzure,
      'x-goog-api-key': canaryGoog,
    });
  });
});

describe('DELTA across two export intervals through the proxy', () => {
  let receiver: OtlpReceiver;
  let app: TestLlmtap | undefined;
  afterEach(async () => {
    await app?.shutdown();
    await receiver.close();
  });

  it('the second interval holds only the second interval’s calls', async () => {
    receiver = await startOtlpReceiver();
    app = await startProduct({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRIC_EXPORT_INTERVAL: '400',
    });
    await streamChat(app);
    const isTokens = (m: ReceivedMetric): boolean => m.name === 'gen_ai.client.token.usage';
    await receiver.waitFor(() => receiver.metrics.some(isTokens), 10_000, 'the first interval');
    const first = receiver.metrics.find(isTokens)?.exportIndex ?? -1;
    await streamChat(app);
    await streamChat(app);
    const inputOf = (m: ReceivedMetric | undefined) =>
      m?.points.find((p) => p.attributes['gen_ai.token.type'] === 'input');
    const laterCount = (): number =>
      receiver.metrics
        .filter((m) => isTokens(m) && m.exportIndex > first)
        .reduce((n, m) => n + (inputOf(m)?.count ?? 0), 0);
    // The two later calls may land in one interval or in two: wait until both were exported.
    await receiver.waitFor(() => laterCount() >= 2, 10_000, 'the later intervals');
    expect(inputOf(metricIn(receiver, 'gen_ai.client.token.usage', first))).toMatchObject({
      count: 1,
      sum: 18,
    });
    // All later intervals together hold exactly the two later calls (delta: nothing counted twice).
    expect(laterCount()).toBe(2);
    for (const m of receiver.metrics) expect(m.temporality, m.name).toBe('AGGREGATION_TEMPORALITY_DELTA');
  });
});

describe('exporter endpoint down', () => {
  it('proxied calls still succeed with the same answer, and the drop counter moves', async () => {
    const dead = createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const deadPort = (dead.address() as AddressInfo).port;
    dead.close();
    await once(dead, 'close');
    const receiver = await startOtlpReceiver();
    const app = await startProduct({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${deadPort}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '300',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      const texts: string[] = [];
      for (let i = 0; i < 3; i++) texts.push(await streamChat(app));
      expect(new Set(texts).size).toBe(1);
      expect(texts[0]?.length).toBeGreaterThan(0);
      await expect.poll(() => app.requestLogs().length).toBe(3);
      expect(app.requestLogs().every((line) => line.inputTokens === 18)).toBe(true);
    } finally {
      await app.shutdown();
      await receiver.close();
    }
    const dropped = receiver.metrics.find((m) => m.name === 'llmtap.telemetry.dropped');
    const failed = dropped?.points.find((p) => p.attributes['llmtap.telemetry.signal'] === 'traces');
    expect(failed?.value).toBe(3);
    expect(app.logs.some((line) => line.includes('telemetry dropped'))).toBe(true);
  });
});

describe('message content through the proxy', () => {
  const prompt = 'Tell me a funny joke, a one-liner.';

  it('is absent from the exported bytes by default', async () => {
    const receiver = await startOtlpReceiver();
    const app = await startProduct({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const text = await streamChat(app);
      await receiver.waitFor(() => app.requestLogs().length === 1, 5000, 'the request log line');
      await app.shutdown();
      expect(receiver.spans).toHaveLength(1);
      const bytes = receiver.allBytes();
      expect(bytes.includes(prompt)).toBe(false);
      expect(bytes.includes(text.slice(0, 20))).toBe(false);
      expect(receiver.spans[0]?.attributes).not.toHaveProperty('gen_ai.input.messages');
    } finally {
      await app.shutdown();
      await receiver.close();
    }
  });

  it('is on the span when opted in, cut at limits.maxCapturedChars with the truncation flag', async () => {
    const receiver = await startOtlpReceiver();
    const app = await startFullLlmtap(
      {
        routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }],
        limits: { maxCapturedChars: 20 },
      },
      {
        ...podEnv(),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      },
    );
    try {
      await streamChat(app);
      await receiver.waitFor(() => app.requestLogs().length === 1, 5000, 'the request log line');
      await app.shutdown();
      const attrs = receiver.spans[0]?.attributes ?? {};
      const input = JSON.parse(String(attrs['gen_ai.input.messages'])) as {
        role: string;
        parts: { content: string }[];
      }[];
      expect(input[0]?.role).toBe('user');
      // The per-call budget of 20 characters keeps the start of the prompt only.
      expect(input[0]?.parts[0]?.content).toBe(prompt.slice(0, 20));
      expect(attrs['llmtap.content.truncated']).toBe(true);
      expect(receiver.allBytes().includes(prompt)).toBe(false);
    } finally {
      await app.shutdown();
      await receiver.close();
    }
  });
});
