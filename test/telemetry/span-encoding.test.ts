/**
 * Differential test of llmtap's span encoder (#15): for the spans llmtap really makes from every recorded
 * exchange, and for generated spans covering every attribute value type, parents, trace state, flags, status,
 * events, links and dropped counts, the request llmtap sends is byte for byte the request the SDK's
 * `ProtobufTraceSerializer` makes for the same spans after `retypeIntegralDoubles` (what llmtap sent before it
 * encoded spans itself). The decoded messages are compared first, for a readable difference. For the recorded
 * exchanges the reference spans are the SDK tracer's, made from the same facts as llmtap's own call spans
 * (`call-span.ts`): what llmtap exported before it stopped using the SDK's span machinery.
 */
import {
  type Attributes,
  context,
  type Link,
  type SpanContext,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CallSpan, SpanStarter } from '../../src/telemetry/call-span.ts';
import { ProtoWriter } from '../../src/telemetry/protobuf-writer.ts';
import { SCOPE_NAME, SEMCONV_SCHEMA_URL } from '../../src/telemetry/semconv.ts';
import {
  DOUBLE_ATTRIBUTES,
  encodeEnvelope,
  wrapSpans,
  writeSpanEntry,
} from '../../src/telemetry/span-encoding.ts';
import { EncodingSpanProcessor } from '../../src/telemetry/span-processor.ts';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { decodeTraceRequest, type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { retypeIntegralDoubles } from '../helpers/retype-doubles.ts';
import { type SpanFacts, type SpanOp, sdkSpanReference } from '../helpers/sdk-span-reference.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

/** What llmtap exported before #15 for these spans. */
const reference = (spans: ReadableSpan[]): Uint8Array =>
  retypeIntegralDoubles(
    ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array(),
    DOUBLE_ATTRIBUTES,
  );

const encode = (spans: ReadableSpan[]): Uint8Array => {
  const w = new ProtoWriter(16);
  for (const span of spans) writeSpanEntry(w, span, DOUBLE_ATTRIBUTES);
  const first = spans[0] as ReadableSpan;
  return wrapSpans(encodeEnvelope(first.resource, first.instrumentationScope), w.buf.subarray(0, w.pos));
};

const expectSameRequest = (ours: Uint8Array, expected: Uint8Array): void => {
  expect(decodeTraceRequest(ours)).toEqual(decodeTraceRequest(expected));
  expect(Buffer.from(ours).equals(Buffer.from(expected))).toBe(true);
};

describe('the spans llmtap makes from every recorded exchange', () => {
  const fixtures = loadRecordedFixtures();
  const providers = [...new Set(fixtures.map((f) => f.provider))];
  let serving: RecordedFixture | undefined;
  let upstream: Upstream;
  let receiver: OtlpReceiver;
  let app: TestLlmtap;
  const ended = vi.spyOn(EncodingSpanProcessor.prototype, 'onEnd');
  // The facts of every call span: how it was started, and what was done to it afterwards, in order.
  const started = vi.spyOn(SpanStarter.prototype, 'start');
  const spanOps = [
    vi.spyOn(CallSpan.prototype, 'setAttributes'),
    vi.spyOn(CallSpan.prototype, 'updateName'),
    vi.spyOn(CallSpan.prototype, 'setStatus'),
    vi.spyOn(CallSpan.prototype, 'end'),
  ] as const;
  const factsOf = (): SpanFacts[] => {
    const ops: { order: number; span: unknown; op: SpanOp }[] = [];
    for (const [i, name] of (['setAttributes', 'updateName', 'setStatus', 'end'] as const).entries()) {
      const spy = spanOps[i] as (typeof spanOps)[number];
      for (const [n, args] of spy.mock.calls.entries()) {
        ops.push({
          order: spy.mock.invocationCallOrder[n] as number,
          span: spy.mock.contexts[n],
          op: [name, args[0]] as unknown as SpanOp,
        });
      }
    }
    ops.sort((a, b) => a.order - b.order);
    return started.mock.calls.map(([requestHeaders, start], n) => {
      const { span } = (started.mock.results[n] as { value: { span: CallSpan } }).value;
      const { traceId, spanId } = span.spanContext();
      return {
        requestHeaders,
        start,
        ids: { traceId, spanId },
        ops: ops.filter((o) => o.span === span).map((o) => o.op),
      };
    });
  };

  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => {
      if (serving === undefined) throw new Error('nothing to serve');
      res.writeHead(serving.response.status, replayHeaders(serving));
      res.end(wireBody(serving));
    });
    receiver = await startOtlpReceiver();
    app = await startFullLlmtap(
      { routes: providers.map((provider) => ({ prefix: `/${provider}`, provider, upstream: upstream.url })) },
      {
        OTEL_SERVICE_NAME: 'chat-app',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=ünïcode',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
        // One request with every span: sent at shutdown.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
    );
  });
  afterAll(async () => {
    ended.mockRestore();
    started.mockRestore();
    for (const spy of spanOps) spy.mockRestore();
    await upstream.close();
    await receiver.close();
  });

  it(`replays ${fixtures.length} exchanges and exports exactly the SDK serializer's bytes for their spans`, async () => {
    for (const [i, fixture] of fixtures.entries()) {
      serving = fixture;
      const logged = app.requestLogs().length;
      await rawRequest(`${app.server.dataUrl}/${fixture.provider}${fixture.request.path}`, {
        method: fixture.request.method,
        headers: {
          'content-type': 'application/json',
          // Every other call continues the app's trace (parent span id, trace state).
          ...(i % 2 === 0
            ? {
                traceparent: `00-${'4bf92f3577b34da6a3ce929d0e0e47'}${String(i).padStart(2, '0')}-00f067aa0ba902b7-01`,
              }
            : {}),
          ...(i % 4 === 0 ? { tracestate: `vendor=v${i},other=x` } : {}),
        },
        ...(fixture.request.body === null ? {} : { body: fixture.request.body }),
      });
      const deadline = Date.now() + 5000;
      while (app.requestLogs().length === logged && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await app.shutdown();
    const spans = ended.mock.calls.map(([span]) => span);
    expect(spans.length).toBe(fixtures.length);
    const requests = receiver.raw.filter((r) => r.path === '/v1/traces');
    expect(requests).toHaveLength(1);
    // The corpus holds what the generated one below covers only synthetically.
    const values = spans.flatMap((s) => Object.entries(s.attributes));
    expect(values.some(([k, v]) => DOUBLE_ATTRIBUTES.has(k) && Number.isInteger(v))).toBe(true);
    expect(spans.some((s) => s.status.code === 2 && s.status.message)).toBe(true);
    expect(spans.some((s) => s.parentSpanContext?.isRemote === true)).toBe(true);
    expect(spans.some((s) => s.spanContext().traceState !== undefined)).toBe(true);
    expectSameRequest((requests[0] as { body: Buffer }).body, reference(spans));
    // The same calls through the SDK's tracer, samplers and propagators: the same spans and upstream headers.
    const first = spans[0] as ReadableSpan;
    expect(first.instrumentationScope).toEqual({
      name: SCOPE_NAME,
      version: '0.0.0-test',
      schemaUrl: SEMCONV_SCHEMA_URL,
    });
    const sdk = sdkSpanReference({
      sampler: 'parentbased_always_on',
      ratio: 1,
      attributeValueLengthLimit: (started.mock.contexts[0] as SpanStarter).valueLengthLimit,
      resource: first.resource,
      scope: first.instrumentationScope,
    });
    const facts = factsOf();
    expect(facts).toHaveLength(fixtures.length);
    const made = facts.map(sdk);
    expect(made.map((m) => m.headers)).toEqual(started.mock.results.map((r) => r.value.headers));
    expect(made.every((m) => m.ended !== undefined)).toBe(true);
    expectSameRequest(
      (requests[0] as { body: Buffer }).body,
      reference(made.map((m) => m.ended as ReadableSpan)),
    );
  }, 60_000);
});

describe('generated spans', () => {
  const memory = new InMemorySpanExporter();

  const hex = (bytes: number) =>
    fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `a${String.fromCharCode(c)}b`);
  const text = fc.oneof(
    fc.constant(''),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    loneSurrogate,
    fc.string({ minLength: 130, maxLength: 300 }), // lengths past one varint byte
  );
  const int = fc.oneof(
    fc.integer({ min: -1_000_000, max: 1_000_000 }),
    fc.maxSafeInteger(),
    fc.constantFrom(
      -(2 ** 63),
      2 ** 63 - 1024,
      2 ** 62,
      2 ** 63,
      2 ** 64,
      -(2 ** 64),
      4_294_967_295,
      4_294_967_296,
    ),
  );
  const double = fc.oneof(fc.double(), fc.constantFrom(-0, 0.5, -1.5, 1e300, Number.NaN, Infinity));
  const scalar = fc.oneof(text, fc.boolean(), int, double);
  const value = fc.oneof(
    scalar,
    fc.array(text, { maxLength: 4 }),
    fc.array(fc.boolean(), { maxLength: 4 }),
    fc.array(fc.oneof(int, double), { maxLength: 4 }),
    fc.array(fc.option(text, { nil: null }), { maxLength: 3 }),
  );
  const key = fc.oneof(
    fc.constantFrom(...DOUBLE_ATTRIBUTES),
    fc.constantFrom('gen_ai.request.max_tokens', 'server.port', 'error.type', '1', '42', ''),
    text,
  );
  const attributes = fc.dictionary(key, value, { maxKeys: 8 });
  const time = fc.oneof(
    fc.double({ min: 1_600_000_000_000, max: 2_100_000_000_000, noNaN: true }),
    fc.tuple(fc.integer({ min: 0, max: 2 ** 33 }), fc.integer({ min: 0, max: 999_999_999 })),
  );
  const traceState = fc.option(
    fc.constantFrom('vendor=abc', 'a=1,b=2', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'),
    { nil: undefined },
  );
  const spanContext = fc.record(
    {
      traceId: hex(16),
      spanId: hex(8),
      traceFlags: fc.integer({ min: 0, max: 255 }),
      isRemote: fc.boolean(),
      traceState,
    },
    { requiredKeys: ['traceId', 'spanId', 'traceFlags'] },
  );
  const spanSpec = fc.record({
    name: text,
    kind: fc.constantFrom(
      SpanKind.INTERNAL,
      SpanKind.SERVER,
      SpanKind.CLIENT,
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
    ),
    parent: fc.option(spanContext, { nil: undefined }),
    attributes,
    later: attributes,
    events: fc.array(
      fc.record({ name: text, attributes: fc.option(attributes, { nil: undefined }), at: time }),
      {
        maxLength: 4,
      },
    ),
    links: fc.array(
      fc.record({ context: spanContext, attributes: fc.option(attributes, { nil: undefined }) }),
      {
        maxLength: 3,
      },
    ),
    status: fc.oneof(
      fc.constant(undefined),
      fc.record({ code: fc.constantFrom(0, 1, 2), message: text }, { requiredKeys: ['code'] }),
    ),
    start: time,
    durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  });
  const setup = fc.record({
    resource: attributes,
    resourceSchema: fc.option(fc.constant('https://opentelemetry.io/schemas/1.30.0'), { nil: undefined }),
    scope: fc.record({
      name: text,
      version: fc.option(text, { nil: undefined }),
      schemaUrl: fc.option(fc.constant('https://opentelemetry.io/schemas/1.41.1'), { nil: undefined }),
    }),
    // Small limits so that attributes, events and links get dropped (and counted).
    limits: fc.record({
      attributeCountLimit: fc.integer({ min: 1, max: 16 }),
      eventCountLimit: fc.integer({ min: 1, max: 4 }),
      linkCountLimit: fc.integer({ min: 1, max: 3 }),
      attributePerEventCountLimit: fc.integer({ min: 1, max: 8 }),
      attributePerLinkCountLimit: fc.integer({ min: 1, max: 8 }),
    }),
    spans: fc.array(spanSpec, { minLength: 1, maxLength: 4 }),
  });

  type Setup = typeof setup extends fc.Arbitrary<infer T> ? T : never;
  type ContextSpec = typeof spanContext extends fc.Arbitrary<infer T> ? T : never;

  const contextOf = ({ traceState, ...rest }: ContextSpec): SpanContext => ({
    ...rest,
    ...(traceState === undefined ? {} : { traceState: new TraceState(traceState) }),
  });

  const makeSpans = (s: Setup): ReadableSpan[] => {
    memory.reset();
    const provider = new TracerProvider({
      resource: resourceFromAttributes(
        s.resource,
        s.resourceSchema === undefined ? {} : { schemaUrl: s.resourceSchema },
      ),
      sampler: new AlwaysOnSampler(),
      spanLimits: s.limits,
      spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
    });
    const tracer = provider.getTracer(
      s.scope.name,
      s.scope.version,
      s.scope.schemaUrl === undefined ? {} : { schemaUrl: s.scope.schemaUrl },
    );
    for (const spec of s.spans) {
      const parent =
        spec.parent === undefined
          ? context.active()
          : trace.setSpanContext(context.active(), contextOf(spec.parent));
      const links: Link[] = spec.links.map((link) => ({
        context: contextOf(link.context),
        ...(link.attributes === undefined ? {} : { attributes: link.attributes as Attributes }),
      }));
      const span = tracer.startSpan(
        spec.name,
        { kind: spec.kind, attributes: spec.attributes as Attributes, links, startTime: spec.start },
        parent,
      );
      span.setAttributes(spec.later as Attributes);
      for (const event of spec.events) span.addEvent(event.name, event.attributes as Attributes, event.at);
      if (spec.status !== undefined) span.setStatus(spec.status);
      const start = Array.isArray(spec.start) ? spec.start[0] * 1000 + spec.start[1] / 1e6 : spec.start;
      span.end(start + spec.durationMs);
    }
    return memory.getFinishedSpans();
  };

  it('encode to exactly the bytes of the SDK serializer plus the re-typing of integral doubles', () => {
    fc.assert(
      fc.property(setup, (s) => {
        const spans = makeSpans(s);
        if (spans.length === 0) return;
        expectSameRequest(encode(spans), reference(spans));
      }),
      { numRuns: 400 },
    );
  });

  it('cover what the property claims: flags, remote parents, drops, integral doubles, unicode', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(setup, (s) => {
        for (const span of makeSpans(s)) {
          if (span.parentSpanContext?.isRemote) seen.add('remote parent');
          if (span.spanContext().traceState) seen.add('trace state');
          if (span.droppedAttributesCount > 0) seen.add('dropped attributes');
          if (span.droppedEventsCount > 0) seen.add('dropped events');
          if (span.droppedLinksCount > 0) seen.add('dropped links');
          if (span.links.some((l) => l.context.traceFlags > 1)) seen.add('link flags');
          if (span.status.code === 2 && span.status.message) seen.add('error message');
          for (const [k, v] of Object.entries(span.attributes)) {
            if (DOUBLE_ATTRIBUTES.has(k) && Number.isInteger(v)) seen.add('integral double');
            if (typeof v === 'number' && v < 0 && Number.isInteger(v)) seen.add('negative int');
            if (typeof v === 'string' && Buffer.byteLength(v) > v.length) seen.add('unicode');
            if (Array.isArray(v)) seen.add('array');
          }
        }
      }),
      { numRuns: 400, seed: 15 },
    );
    expect([...seen].sort()).toEqual(
      [
        'array',
        'dropped attributes',
        'dropped events',
        'dropped links',
        'error message',
        'integral double',
        'link flags',
        'negative int',
        'remote parent',
        'trace state',
        'unicode',
      ].sort(),
    );
  });

  it('a span with no attributes, events or links (the smallest message)', () => {
    const spans = makeSpans({
      resource: {},
      resourceSchema: undefined,
      scope: { name: 'llmtap', version: undefined, schemaUrl: undefined },
      limits: {},
      spans: [
        {
          name: '',
          kind: SpanKind.INTERNAL,
          parent: undefined,
          attributes: {},
          later: {},
          events: [],
          links: [],
          status: undefined,
          start: 0,
          durationMs: 0,
        },
      ],
    } as unknown as Setup);
    expect(spans[0]?.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    expectSameRequest(encode(spans), reference(spans));
  });
});
