/**
 * createTelemetry → real OTLP/HTTP protobuf exporters → the in-test receiver, which decodes what was sent.
 * Calls are hand-built `LlmCall`s (see calls.ts); the proxy end-to-end path is in e2e.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyUsage } from '../../src/record.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { anthropicCall, chatCall, contextFor, memoryLogger } from './calls.ts';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const appSpanId = '00f067aa0ba902b7';

let receiver: OtlpReceiver;
let telemetry: Telemetry | undefined;
let dir: string;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
  dir = await mkdtemp(join(tmpdir(), 'llmtap-podinfo-'));
});
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

const firstSpan = (): ReceivedSpan => {
  const span = receiver.spans[0];
  if (span === undefined) throw new Error('no span was exported');
  return span;
};

const envFor = (extra: Record<string, string> = {}): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_METRICS_EXPORTER: 'none',
  LLMTAP_PODINFO_DIR: dir,
  ...extra,
});

const start = async (
  extra: Record<string, string> = {},
  logger = memoryLogger(),
  maxContentChars?: number,
): Promise<Telemetry> => {
  telemetry = await createTelemetry({ env: envFor(extra), logger, version: '9.8.7', maxContentChars });
  return telemetry;
};

describe('GenAI CLIENT span', () => {
  it('is a child of the incoming traceparent, named "{operation} {request model}", with every GenAI attribute', async () => {
    const t = await start();
    const observation = t.start(
      contextFor({
        traceparent: `00-${traceId}-${appSpanId}-01`,
        tracestate: 'vendor=abc',
        baggage: 'tenant=acme',
      }),
    );
    const fields = observation.finish(chatCall());
    await t.shutdown();

    expect(receiver.spans).toHaveLength(1);
    const span = firstSpan();
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.kind).toBe('SPAN_KIND_CLIENT');
    expect(span.traceId).toBe(traceId);
    expect(span.parentSpanId).toBe(appSpanId);
    expect(span.traceState).toBe('vendor=abc');
    expect(span.scope).toEqual({ name: 'llmtap', version: '9.8.7' });
    expect(span.schemaUrl).toBe('https://opentelemetry.io/schemas/1.41.1');
    // Explicit start at ctx.start and end at timing.end (epoch ms → ns).
    expect(span.startNs).toBe(1_780_000_000_000_250_000n); // T0 = 1780000000000.25 ms
    expect(Number(span.endNs - span.startNs) / 1e6).toBeCloseTo(1250, 3);
    expect(span.status.code).toBe('STATUS_CODE_UNSET');
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': 'chatcmpl-BNi420iFNtIOHzy8Gq2fVS5utTus7',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.request.stream': true,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.usage.input_tokens': 1149,
      'gen_ai.usage.output_tokens': 353,
      'gen_ai.usage.cache_read.input_tokens': 1024,
      'gen_ai.usage.reasoning.output_tokens': 0,
      'gen_ai.response.time_to_first_chunk': 0.25,
      // (125 × $0.15 + 1024 × $0.075 + 353 × $0.60) / 1M, rounded to 1e-12 USD.
      'gen_ai.usage.cost': 0.00030735,
      'llmtap.price_table.version': t.priceTableVersion,
      'server.address': 'api.openai.com',
      'server.port': 443,
      'http.response.status_code': 200,
    });
    // The log line carries the same facts plus the trace id that joins it to the span.
    expect(fields).toMatchObject({
      provider: 'openai',
      operation: 'chat',
      model: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini-2024-07-18',
      inputTokens: 1149,
      outputTokens: 353,
      ttfcMs: 250,
      outcome: 'completed',
      traceId,
    });
    expect(fields?.costUsd).toBeCloseTo(0.00030735, 12);
    expect(fields?.errorType).toBeUndefined();
  });

  it('sends upstream the trace context of ITS span, keeping tracestate and baggage', async () => {
    const t = await start();
    const observation = t.start(
      contextFor({
        traceparent: `00-${traceId}-${appSpanId}-01`,
        tracestate: 'vendor=abc',
        baggage: 'tenant=acme',
      }),
    );
    observation.finish(chatCall());
    await t.shutdown();
    const span = firstSpan();
    expect(observation.upstreamHeaders).toEqual({
      traceparent: `00-${traceId}-${span.spanId}-01`,
      tracestate: 'vendor=abc',
      baggage: 'tenant=acme',
    });
    expect(span.spanId).not.toBe(appSpanId);
  });

  it('starts a new trace when the request carries no trace context', async () => {
    const t = await start();
    const observation = t.start(contextFor({}));
    observation.finish(anthropicCall());
    await t.shutdown();
    const span = firstSpan();
    expect(span.parentSpanId).toBe('');
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(observation.upstreamHeaders?.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
    expect(span.name).toBe('chat claude-3-5-sonnet-20240620');
    // Non-streaming: no stream flag, no TTFC; a reported 0 cache-creation count is kept (reported ≠ unknown).
    expect(span.attributes['gen_ai.request.stream']).toBeUndefined();
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBeUndefined();
    expect(span.attributes['gen_ai.usage.cache_creation.input_tokens']).toBe(0);
    expect(span.attributes['gen_ai.usage.cost']).toBeCloseTo(0.0033909, 12);
  });

  it('leaves unknown values absent, never 0, and prices nothing when usage is unknown', async () => {
    const t = await start();
    const call = chatCall({
      request: { operation: 'chat', requestModel: 'gpt-4o', stream: false, params: {} },
      response: {
        responseId: undefined,
        responseModel: undefined,
        usage: emptyUsage,
        finishReasons: [],
        error: undefined,
      },
    });
    const fields = t.start(contextFor()).finish(call);
    await t.shutdown();
    const attrs = firstSpan().attributes;
    for (const key of [
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
      'gen_ai.usage.cache_read.input_tokens',
      'gen_ai.usage.cache_creation.input_tokens',
      'gen_ai.usage.reasoning.output_tokens',
      'gen_ai.response.model',
      'gen_ai.response.id',
      'gen_ai.response.finish_reasons',
      'gen_ai.usage.cost',
      'llmtap.price_table.version',
      'gen_ai.request.temperature',
    ]) {
      expect(attrs, key).not.toHaveProperty(key);
    }
    expect(fields?.costUsd).toBeUndefined();
    expect(fields?.inputTokens).toBeUndefined();
  });

  it.each([
    [
      'provider error',
      chatCall({
        outcome: 'errored',
        httpStatus: 429,
        response: { ...chatCall().response, error: { type: 'rate_limit_exceeded', midStream: false } },
      }),
      'rate_limit_exceeded',
    ],
    [
      'transport error',
      chatCall({ outcome: 'incomplete', httpStatus: undefined, transportError: 'ECONNREFUSED' }),
      'ECONNREFUSED',
    ],
    ['HTTP status without a parsed error', chatCall({ outcome: 'errored', httpStatus: 503 }), '503'],
    ['stream cut before its terminal event', chatCall({ outcome: 'incomplete' }), 'incomplete_response'],
  ])('marks a %s with error.type and status ERROR', async (_name, call, errorType) => {
    const t = await start();
    const fields = t.start(contextFor()).finish(call);
    await t.shutdown();
    const span = firstSpan();
    expect(span.attributes['error.type']).toBe(errorType);
    expect(span.status.code).toBe('STATUS_CODE_ERROR');
    expect(fields?.errorType).toBe(errorType);
  });

  it('does not call a call failed because llmtap cut its own copy (capture limit)', async () => {
    const t = await start();
    t.start(contextFor()).finish(chatCall({ outcome: 'incomplete', truncated: true }));
    await t.shutdown();
    const span = firstSpan();
    expect(span.status.code).toBe('STATUS_CODE_UNSET');
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.attributes['llmtap.capture.truncated']).toBe(true);
  });

  it('honours OTEL_TRACES_SAMPLER: always_off exports no span but still propagates context', async () => {
    const t = await start({ OTEL_TRACES_SAMPLER: 'always_off' });
    const observation = t.start(contextFor({ traceparent: `00-${traceId}-${appSpanId}-01` }));
    const fields = observation.finish(chatCall());
    await t.shutdown();
    expect(receiver.spans).toHaveLength(0);
    expect(observation.upstreamHeaders?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(fields?.traceId).toBeUndefined();
    expect(fields?.inputTokens).toBe(1149);
  });
});

describe('resource: the app identity from the Downward API', () => {
  it('takes k8s.* from env, labels from the podinfo folder, derives workload names and service.name', async () => {
    await writeFile(
      join(dir, 'labels'),
      [
        'app.kubernetes.io/name="checkout"',
        'pod-template-hash="7d9f8c6b5"',
        'team="pay\\"ments"',
        'note="caf\\u00e9 \\xe2\\x9c\\x93"',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'annotations'),
      [
        'kubectl.kubernetes.io/last-applied-configuration="{\\"apiVersion\\":\\"v1\\",\\"secret\\":\\"sk-do-not-export\\"}"',
        'resource.opentelemetry.io/deployment.environment.name="prod"',
      ].join('\n'),
    );
    const t = await start({
      K8S_POD_NAME: 'checkout-api-7d9f8c6b5-x2k9q',
      K8S_NAMESPACE_NAME: 'shop',
      K8S_POD_UID: '0b8a3f0e-1111-2222-3333-444455556666',
      K8S_NODE_NAME: 'node-a',
      K8S_POD_IP: '10.1.2.3',
    });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    const resource = firstSpan().resource;
    expect(resource).toMatchObject({
      'k8s.pod.name': 'checkout-api-7d9f8c6b5-x2k9q',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': '0b8a3f0e-1111-2222-3333-444455556666',
      'k8s.node.name': 'node-a',
      'k8s.pod.ip': '10.1.2.3',
      'k8s.pod.label.app.kubernetes.io/name': 'checkout',
      'k8s.pod.label.team': 'pay"ments',
      'k8s.pod.label.note': 'café ✓',
      'k8s.deployment.name': 'checkout-api',
      'k8s.replicaset.name': 'checkout-api-7d9f8c6b5',
      'deployment.environment.name': 'prod',
      'service.namespace': 'shop',
      // app.kubernetes.io/name wins over the deployment name (semconv order); instance is absent.
      'service.name': 'checkout',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(resource).not.toHaveProperty('k8s.container.name');
    expect(JSON.stringify(resource)).not.toContain('last-applied');
    expect(receiver.allBytes().includes('sk-do-not-export')).toBe(false);
  });

  it('OTEL_SERVICE_NAME beats everything; OTEL_RESOURCE_ATTRIBUTES overrides derived values', async () => {
    await writeFile(join(dir, 'labels'), 'app.kubernetes.io/instance="checkout-blue"\n');
    const t = await start({
      K8S_POD_NAME: 'checkout-0',
      K8S_NAMESPACE_NAME: 'shop',
      OTEL_SERVICE_NAME: 'checkout-svc',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,k8s.namespace.name=shop-override,team=a%2Cb',
    });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    const resource = firstSpan().resource;
    expect(resource['service.name']).toBe('checkout-svc');
    expect(resource['k8s.namespace.name']).toBe('shop-override');
    expect(resource.team).toBe('a,b');
  });

  it('falls back to the deployment name, then the pod name — never unknown_service', async () => {
    await writeFile(join(dir, 'labels'), 'pod-template-hash="5f6d"\n');
    const t = await start({ K8S_POD_NAME: 'worker-5f6d-abcde' });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    expect(firstSpan().resource['service.name']).toBe('worker');
  });

  it('without any pod information still names a service (the host name), not unknown_service', async () => {
    const t = await start({ LLMTAP_PODINFO_DIR: join(dir, 'absent') });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    const name = firstSpan().resource['service.name'];
    expect(typeof name).toBe('string');
    expect(name).not.toMatch(/^unknown_service/);
  });
});

describe('message content', () => {
  const content = {
    inputMessages: [{ role: 'user', parts: [{ type: 'text', content: 'PROMPT-CANARY tell me a story' }] }],
    systemInstructions: [{ type: 'text', content: 'SYSTEM-CANARY be brief' }],
    outputMessages: [
      {
        role: 'assistant',
        parts: [{ type: 'text', content: `OUTPUT-CANARY ${'x'.repeat(5000)}` }],
        finish_reason: 'stop',
      },
    ],
  };

  it('is not exported by default, even when the capture pipeline collected some', async () => {
    const t = await start();
    t.start(contextFor()).finish(chatCall({ content }));
    await t.shutdown();
    expect(receiver.spans).toHaveLength(1);
    const bytes = receiver.allBytes();
    for (const canary of ['PROMPT-CANARY', 'SYSTEM-CANARY', 'OUTPUT-CANARY'])
      expect(bytes.includes(canary)).toBe(false);
    expect(firstSpan().attributes).not.toHaveProperty('gen_ai.input.messages');
  });

  it('is exported as semconv JSON when opted in, and truncated with a marker at the configured size', async () => {
    const t = await start(
      { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' },
      memoryLogger(),
      1000,
    );
    expect(t.captureContent).toBe(true);
    t.start(contextFor()).finish(chatCall({ content }));
    await t.shutdown();
    const attrs = firstSpan().attributes;
    expect(JSON.parse(attrs['gen_ai.input.messages'] as string)).toEqual(content.inputMessages);
    expect(JSON.parse(attrs['gen_ai.system_instructions'] as string)).toEqual(content.systemInstructions);
    const output = attrs['gen_ai.output.messages'] as string;
    expect(output.length).toBe(1000);
    expect(output).toMatch(/…\[truncated by llmtap: \d+ chars\]$/);
    expect(output.startsWith('[{"role":"assistant","parts":[{"type":"text","content":"OUTPUT-CANARY')).toBe(
      true,
    );
    expect(attrs['llmtap.content.truncated']).toBe(true);
  });

  it('accepts the enum form of the opt-in variable (SPAN_ONLY)', async () => {
    const t = await start({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_ONLY' });
    expect(t.captureContent).toBe(true);
  });
});

describe('secrets', () => {
  const canaries = {
    bearer: 'sk-proj-CANARYbearer0123456789',
    xApiKey: 'sk-ant-CANARYxapikey0123456789',
    azure: 'CANARYazurekey0123456789abcdef',
    goog: 'AIzaCANARYgoogkey0123456789abcdefgh',
    query: 'CANARYquerykey0123456789',
    otlp: 'CANARYotlptoken0123456789',
  };

  it('never exports or logs an API key from the request, and never logs the OTLP exporter token', async () => {
    const logger = memoryLogger();
    const t = await start(
      {
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token ${canaries.otlp}`,
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      },
      logger,
    );
    const route = {
      prefix: '/gemini',
      provider: 'gemini',
      upstream: 'https://generativelanguage.googleapis.com',
    };
    const context = {
      ...contextFor(
        {
          authorization: `Bearer ${canaries.bearer}`,
          'x-api-key': canaries.xApiKey,
          'api-key': canaries.azure,
          'x-goog-api-key': canaries.goog,
          cookie: `session=${canaries.bearer}`,
        },
        route,
        '/v1beta/models/gemini-2.5-flash:generateContent',
      ),
      upstreamUrl: new URL(
        `https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?key=${canaries.query}`,
      ),
    };
    const fields = t.start(context).finish(chatCall({ outcome: 'errored', httpStatus: 401 }));
    t.recordError(
      'parse',
      new Error(`upstream said: invalid key ${canaries.goog} in ?key=${canaries.query}`),
    );
    logger.info('request', fields);
    logger.info('banner', { telemetry: t.describe() });
    await t.shutdown();

    expect(receiver.spans).toHaveLength(1);
    expect(receiver.metrics.length).toBeGreaterThan(0);
    // The exporter token goes to the collector as a header (its purpose), never into a body or a log.
    expect(receiver.raw.some((r) => r.headers.authorization === `Api-Token ${canaries.otlp}`)).toBe(true);
    const exported = receiver.allBytes();
    const logs = logger.text();
    for (const canary of Object.values(canaries)) {
      expect(exported.includes(canary), `exported bytes contain ${canary}`).toBe(false);
      expect(logs.includes(canary), `logs contain ${canary}`).toBe(false);
    }
    expect(logs).toContain('telemetry stage failed');
  });
});

describe('values an app controls', () => {
  it('caps a huge model id in the span name, attributes and metrics (synthesised request)', async () => {
    const t = await start({ OTEL_METRICS_EXPORTER: 'otlp' });
    const huge = `m-${'x'.repeat(100_000)}`;
    const call = chatCall({
      request: { ...chatCall().request, requestModel: huge },
      response: { ...chatCall().response, responseModel: huge, responseId: huge },
    });
    t.start(contextFor()).finish(call);
    await t.shutdown();
    const span = firstSpan();
    expect(span.name).toBe(`chat ${huge.slice(0, 256)}`);
    expect(span.attributes['gen_ai.request.model']).toBe(huge.slice(0, 256));
    expect(span.attributes['gen_ai.response.id']).toBe(huge.slice(0, 256));
    expect(receiver.allBytes().length).toBeLessThan(20_000);
  });
});

describe('exporter settings', () => {
  it('sends gzip-compressed protobuf with the configured headers when asked', async () => {
    const t = await start({
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=acme%20corp',
    });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    const request = receiver.raw.find((r) => r.path === '/v1/traces');
    expect(request?.headers['content-encoding']).toBe('gzip');
    expect(request?.headers['content-type']).toBe('application/x-protobuf');
    expect(request?.headers['x-tenant']).toBe('acme corp');
    expect(request?.wire.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(firstSpan().name).toBe('chat gpt-4o-mini');
  });
});
