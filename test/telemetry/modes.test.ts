/**
 * Modes per route and legacy names, end to end: the real `openai` client → the whole llmtap with one route per
 * mode → a local fake OpenAI upstream; the real OTLP/HTTP protobuf exporters → the in-test receiver. Routes are
 * told apart by the model each call asks for.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_USAGE, responseModelFor, startFakeOpenAi } from '../helpers/fake-openai.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import type { Upstream } from '../helpers/upstream.ts';

const appTraceId = '0af7651916cd43dd8448eb211c80319c';
const appSpanId = 'b7ad6b7169203331';
const appTraceparent = `00-${appTraceId}-${appSpanId}-01`;

/** Route prefix → the model its calls ask for (all priced in the built-in table). */
const modelOf = {
  full: 'gpt-4.1-mini',
  metrics: 'gpt-4o-mini',
  spans: 'gpt-4.1-nano',
  off: 'gpt-4.1',
} as const;
type Mode = keyof typeof modelOf;
const modes = Object.keys(modelOf) as Mode[];

let upstream: Upstream;
let receiver: OtlpReceiver;
let app: TestLlmtap | undefined;

beforeAll(async () => {
  upstream = await startFakeOpenAi();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await app?.shutdown();
  app = undefined;
  await receiver?.close();
  upstream.received.length = 0;
});

const start = async (env: Record<string, string> = {}): Promise<TestLlmtap> => {
  receiver = await startOtlpReceiver();
  app = await startFullLlmtap(
    {
      routes: modes.map((mode) => ({ prefix: `/${mode}`, provider: 'openai', upstream: upstream.url, mode })),
    },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '600000', ...env },
  );
  return app;
};

const client = (llmtap: TestLlmtap, prefix: string): OpenAI =>
  new OpenAI({
    apiKey: 'sk-test-modes',
    baseURL: `${llmtap.server.dataUrl}/${prefix}/v1`,
    maxRetries: 0,
    defaultHeaders: { traceparent: appTraceparent },
  });

const chat = async (llmtap: TestLlmtap, prefix: string, model: string, stream: boolean): Promise<string> => {
  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Say hi' },
  ];
  if (!stream) {
    const done = await client(llmtap, prefix).chat.completions.create({ model, messages });
    return done.choices[0]?.message.content ?? '';
  }
  const chunks = await client(llmtap, prefix).chat.completions.create({ model, messages, stream: true });
  let text = '';
  for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
  return text;
};

const spansFor = (model: string): ReceivedSpan[] =>
  receiver.spans.filter((span) => span.attributes['gen_ai.request.model'] === model);

const metricPointsFor = (name: string, model: string) =>
  receiver.metrics
    .filter((metric) => metric.name === name)
    .flatMap((metric) => metric.points)
    .filter((point) => point.attributes['gen_ai.request.model'] === model);

describe('modes per route', () => {
  it('full: span + metrics + cost; metrics: metrics + cost and no span; spans: span, no GenAI metric; off: neither', async () => {
    const llmtap = await start();
    for (const mode of modes) {
      expect(await chat(llmtap, mode, modelOf[mode], false)).toBe('Hi there');
      expect(await chat(llmtap, mode, modelOf[mode], true)).toBe('Hi there');
    }
    await llmtap.shutdown();

    // Spans: two per call-pair in full and spans mode, none in metrics and off mode.
    expect(spansFor(modelOf.full)).toHaveLength(2);
    expect(spansFor(modelOf.spans)).toHaveLength(2);
    expect(spansFor(modelOf.metrics)).toHaveLength(0);
    expect(spansFor(modelOf.off)).toHaveLength(0);
    for (const span of [...spansFor(modelOf.full), ...spansFor(modelOf.spans)]) {
      expect(span.parentSpanId).toBe(appSpanId);
      expect(span.attributes['gen_ai.usage.input_tokens']).toBe(FAKE_USAGE.prompt_tokens);
      expect(span.attributes['gen_ai.usage.cost']).toBeGreaterThan(0);
    }

    // GenAI metrics and cost: every call in full and metrics mode, none in spans and off mode.
    for (const mode of ['full', 'metrics'] as const) {
      const tokens = metricPointsFor('gen_ai.client.token.usage', modelOf[mode]);
      const input = tokens.find((p) => p.attributes['gen_ai.token.type'] === 'input');
      const output = tokens.find((p) => p.attributes['gen_ai.token.type'] === 'output');
      expect(input, mode).toMatchObject({ count: 2, sum: 2 * FAKE_USAGE.prompt_tokens });
      expect(output, mode).toMatchObject({ count: 2, sum: 2 * FAKE_USAGE.completion_tokens });
      expect(input?.attributes['gen_ai.response.model']).toBe(responseModelFor(modelOf[mode]));
      const durations = metricPointsFor('gen_ai.client.operation.duration', modelOf[mode]);
      expect(
        durations.reduce((n, p) => n + (p.count ?? 0), 0),
        mode,
      ).toBe(2);
      const cost = metricPointsFor('gen_ai.usage.cost', modelOf[mode]);
      expect(cost).toHaveLength(1);
      expect(cost[0]?.value).toBeGreaterThan(0);
    }
    for (const mode of ['spans', 'off'] as const) {
      for (const name of [
        'gen_ai.client.token.usage',
        'gen_ai.client.operation.duration',
        'gen_ai.usage.cost',
      ]) {
        expect(metricPointsFor(name, modelOf[mode]), `${mode} ${name}`).toEqual([]);
      }
    }

    // Upstream: metrics mode sends the app's own traceparent on (no llmtap span in between); full mode its span's.
    const sentFor = (model: string) =>
      upstream.received.filter((r) => (JSON.parse(r.body.toString()) as { model: string }).model === model);
    for (const request of sentFor(modelOf.metrics)) expect(request.headers.traceparent).toBe(appTraceparent);
    for (const request of sentFor(modelOf.full)) {
      expect(request.headers.traceparent).toMatch(
        new RegExp(`^00-${appTraceId}-(?!${appSpanId})[0-9a-f]{16}-01$`),
      );
    }
    // off: no tap, so no usage injection either: the streaming request reaches the upstream byte for byte.
    const offStream = sentFor(modelOf.off).find((r) => r.body.includes('"stream":true'));
    expect(offStream?.body.toString()).not.toContain('stream_options');
    const onStream = sentFor(modelOf.metrics).find((r) => r.body.includes('"stream":true'));
    expect(onStream?.body.toString()).toContain('"include_usage":true');
    // off: the request's log line carries no GenAI fields.
    const logs = llmtap.requestLogs();
    expect(logs.filter((l) => l.model === modelOf.off)).toEqual([]);
    expect(logs.filter((l) => l.model === modelOf.metrics)).toHaveLength(2);
  });

  it('LLMTAP_MODE is the default of routes without their own mode; LLMTAP_TELEMETRY=off still means off', async () => {
    receiver = await startOtlpReceiver();
    app = await startFullLlmtap(
      {
        routes: [
          { prefix: '/plain', provider: 'openai', upstream: upstream.url },
          { prefix: '/own', provider: 'openai', upstream: upstream.url, mode: 'full' },
        ],
      },
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LLMTAP_MODE: 'metrics' },
    );
    expect(app.config.routes.find((r) => r.prefix === '/plain')?.mode).toBe('metrics');
    expect(app.config.routes.find((r) => r.prefix === '/openai')?.mode).toBe('metrics');
    expect(app.config.routes.find((r) => r.prefix === '/own')?.mode).toBe('full');
    await chat(app, 'plain', 'gpt-4o-mini', false);
    await chat(app, 'own', 'gpt-4.1-mini', false);
    await app.shutdown();
    expect(spansFor('gpt-4o-mini')).toHaveLength(0);
    expect(spansFor('gpt-4.1-mini')).toHaveLength(1);
    expect(metricPointsFor('gen_ai.client.token.usage', 'gpt-4o-mini')).toHaveLength(2);

    const off = await startFullLlmtap({}, { LLMTAP_TELEMETRY: 'off' });
    expect(off.config.mode).toBe('off');
    expect(off.config.telemetry).toBe(false);
    expect(off.telemetry).toBeUndefined();
    await off.shutdown();
  });
});

describe('LLMTAP_SEMCONV_COMPAT', () => {
  const legacyKeys = [
    'gen_ai.system',
    'gen_ai.usage.prompt_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.usage.total_tokens',
    'llm.request.type',
    'llm.is_streaming',
  ];
  const flattened = (span: ReceivedSpan): string[] =>
    Object.keys(span.attributes).filter((k) => /^gen_ai\.(prompt|completion)\.\d+\./.test(k));

  it('openllmetry adds the legacy names, each equal to its semconv attribute', async () => {
    const llmtap = await start({ LLMTAP_SEMCONV_COMPAT: 'openllmetry' });
    await chat(llmtap, 'full', modelOf.full, false);
    await chat(llmtap, 'full', modelOf.full, true);
    await llmtap.shutdown();
    const spans = spansFor(modelOf.full);
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      const a = span.attributes;
      expect(a['gen_ai.system']).toBe(a['gen_ai.provider.name']);
      expect(a['gen_ai.system']).toBe('openai');
      expect(a['gen_ai.usage.prompt_tokens']).toBe(a['gen_ai.usage.input_tokens']);
      expect(a['gen_ai.usage.completion_tokens']).toBe(a['gen_ai.usage.output_tokens']);
      expect(a['llm.usage.total_tokens']).toBe(FAKE_USAGE.total_tokens);
      expect(a['llm.request.type']).toBe('chat');
      expect(a['llm.is_streaming']).toBe(a['gen_ai.request.stream'] === true);
      // The semconv attributes are still all there.
      expect(a['gen_ai.provider.name']).toBe('openai');
      expect(a['gen_ai.usage.input_tokens']).toBe(FAKE_USAGE.prompt_tokens);
      expect(flattened(span)).toEqual([]);
    }
    expect(spans.map((s) => s.attributes['llm.is_streaming']).sort()).toEqual([false, true]);
  });

  it('off (the default) writes none of them', async () => {
    const llmtap = await start();
    await chat(llmtap, 'full', modelOf.full, false);
    await llmtap.shutdown();
    const [span] = spansFor(modelOf.full);
    expect(span).toBeDefined();
    for (const key of legacyKeys) expect(span?.attributes, key).not.toHaveProperty(key);
  });

  it('flattened prompts/completions only with openllmetry-content and content capture on', async () => {
    const capture = { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' };
    let llmtap = await start({ ...capture, LLMTAP_SEMCONV_COMPAT: 'openllmetry' });
    await chat(llmtap, 'full', modelOf.full, false);
    await llmtap.shutdown();
    const [plain] = spansFor(modelOf.full);
    expect(plain?.attributes['gen_ai.input.messages']).toBeDefined();
    expect(plain?.attributes['gen_ai.system']).toBe('openai');
    expect(plain && flattened(plain)).toEqual([]);
    await receiver.close();

    llmtap = await start({ ...capture, LLMTAP_SEMCONV_COMPAT: 'openllmetry-content' });
    app = llmtap;
    await chat(llmtap, 'full', modelOf.full, false);
    await llmtap.shutdown();
    const [span] = spansFor(modelOf.full);
    expect(span?.attributes).toMatchObject({
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': 'Be brief.',
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': 'Say hi',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'Hi there',
      'gen_ai.completion.0.finish_reason': 'stop',
    });
    // The semconv JSON attributes stay.
    expect(JSON.parse(String(span?.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hi there' }], finish_reason: 'stop' },
    ]);

    // Without content capture, openllmetry-content adds no content at all.
    await receiver.close();
    llmtap = await start({ LLMTAP_SEMCONV_COMPAT: 'openllmetry-content' });
    app = llmtap;
    await chat(llmtap, 'full', modelOf.full, false);
    await llmtap.shutdown();
    const [bare] = spansFor(modelOf.full);
    expect(bare?.attributes['gen_ai.system']).toBe('openai');
    expect(bare && flattened(bare)).toEqual([]);
    expect(bare?.attributes).not.toHaveProperty('gen_ai.input.messages');
  });
});
