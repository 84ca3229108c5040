/**
 * Span batches serialized in slices (#15): the concatenated request decodes to exactly the spans, resource and
 * scope of the SDK serializer's one-shot request; the serializer never sees more than a slice; the event loop
 * gets a turn whenever the time budget is used up; the real exporter delivers one request per batch.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeInSlices } from '../../src/telemetry/sliced-encoding.ts';
import { createSpanExporter, typedTraceSerializer } from '../../src/telemetry/span-exporter.ts';
import { decodeSpans, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

const memory = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({
    'service.name': 'chat-app',
    'k8s.pod.name': 'chat-app-7d4b9c8f6d-x2x9k',
  }),
  spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
});
const tracer = provider.getTracer('llmtap', '0.1.0', {
  schemaUrl: 'https://opentelemetry.io/schemas/1.37.0',
});

const makeSpans = (n: number): ReadableSpan[] => {
  memory.reset();
  for (let i = 0; i < n; i += 1) {
    const span = tracer.startSpan(`chat gpt-4o-mini ${i}`, {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.request.temperature': i % 3 === 0 ? 1 : 0.25 * i,
        'gen_ai.usage.input_tokens': 100 + i,
        'gen_ai.response.finish_reasons': ['stop'],
        'server.port': 443,
      },
    });
    if (i % 5 === 0) span.setStatus({ code: 2, message: 'rate_limited' });
    span.end();
  }
  return memory.getFinishedSpans();
};

const oneShot = (spans: ReadableSpan[]): Buffer =>
  Buffer.from(typedTraceSerializer.serializeRequest(spans) as Uint8Array);

describe('encodeInSlices', () => {
  it('decodes to exactly what the SDK serializer produces for the whole batch, for every slice size', async () => {
    const spans = makeSpans(53);
    const expected = decodeSpans(oneShot(spans));
    expect(expected).toHaveLength(53);
    for (const sliceSpans of [1, 2, 7, 16, 52, 53, 512]) {
      const bytes = await encodeInSlices(spans, (s) => typedTraceSerializer.serializeRequest(s), {
        sliceSpans,
        budgetMs: 0,
      });
      expect(decodeSpans(Buffer.from(bytes as Uint8Array)), `slices of ${sliceSpans}`).toEqual(expected);
    }
  });

  it('never hands the serializer more than a slice, and yields whenever the time budget is used up', async () => {
    const spans = makeSpans(40);
    let clock = 0;
    const events: string[] = [];
    const bytes = await encodeInSlices(
      spans,
      (slice) => {
        events.push(`encode ${slice.length}`);
        clock += 0.6; // each slice "takes" 0.6 ms: the 1 ms budget is used up after every second slice
        return typedTraceSerializer.serializeRequest(slice);
      },
      {
        sliceSpans: 8,
        budgetMs: 1,
        now: () => clock,
        yieldTurn: async () => {
          events.push('yield');
        },
      },
    );
    expect(events).toEqual(['encode 8', 'encode 8', 'yield', 'encode 8', 'encode 8', 'yield', 'encode 8']);
    expect(decodeSpans(Buffer.from(bytes as Uint8Array))).toEqual(decodeSpans(oneShot(spans)));
  });

  it('lets pending I/O callbacks run between slices with the default yield', async () => {
    const spans = makeSpans(64);
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    await encodeInSlices(
      spans,
      (slice) => {
        order.push('slice');
        return typedTraceSerializer.serializeRequest(slice);
      },
      { sliceSpans: 16, budgetMs: 0 },
    );
    expect(order.indexOf('other work')).toBeGreaterThan(0);
    expect(order.indexOf('other work')).toBeLessThan(order.length - 1);
  });

  it('returns undefined when there is nothing to send', async () => {
    expect(await encodeInSlices([], (s) => typedTraceSerializer.serializeRequest(s))).toBeUndefined();
  });
});

describe('createSpanExporter', () => {
  const receiverReady = startOtlpReceiver();
  afterAll(async () => (await receiverReady).close());

  it('sends one request per batch whose spans equal the SDK serializer output', async () => {
    const receiver = await receiverReady;
    const exporter = createSpanExporter(
      { url: `${receiver.url}/v1/traces` },
      { sliceSpans: 10, budgetMs: 0 },
    );
    const spans = makeSpans(95);
    const result = await new Promise<{ code: number }>((resolve) => exporter.export(spans, resolve));
    expect(result.code).toBe(0);
    await exporter.shutdown();
    expect(receiver.raw.filter((r) => r.path === '/v1/traces')).toHaveLength(1);
    expect(receiver.spans).toEqual(decodeSpans(oneShot(spans)));
  });
});
