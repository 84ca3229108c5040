/**
 * GenAI metrics through the real OTLP/HTTP protobuf metric exporter into the in-test receiver: names,
 * units, bucket boundaries, values, DELTA temporality across export intervals, cost and drop counters.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyUsage } from '../../src/record.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import {
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedPoint,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.ts';
import { anthropicCall, chatCall, contextFor, memoryLogger } from './calls.ts';

/**
 * The oracle, written as the specification writes it (OTel GenAI semantic conventions v1.41.1, metrics:
 * ExplicitBucketBoundaries of gen_ai.client.token.usage and of gen_ai.client.operation.duration, which
 * time_to_first_chunk and time_per_output_chunk reuse), not imported from the constants under test.
 */
const SPEC_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
const SPEC_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** llmtap's own histogram (no semconv): 50 µs … 250 ms, as docs/telemetry.md documents it. */
const DOCUMENTED_OVERHEAD_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

let receiver: OtlpReceiver;
let telemetry: Telemetry | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  await receiver.close();
});

const start = async (extra: Record<string, string> = {}, logger = memoryLogger()): Promise<Telemetry> => {
  telemetry = await createTelemetry({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: 'none',
      LLMTAP_PODINFO_DIR: '/nonexistent',
      ...extra,
    },
    logger,
    version: '1.2.3',
  });
  return telemetry;
};

const metric = (name: string, exportIndex?: number): ReceivedMetric => {
  const found = receiver.metrics.find(
    (m) => m.name === name && (exportIndex === undefined || m.exportIndex === exportIndex),
  );
  if (found === undefined)
    throw new Error(
      `metric ${name} not exported${exportIndex === undefined ? '' : ` in export ${exportIndex}`}`,
    );
  return found;
};

const pointWith = (m: ReceivedMetric, attrs: Record<string, unknown>): ReceivedPoint => {
  const found = m.points.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
  if (found === undefined) throw new Error(`${m.name}: no point with ${JSON.stringify(attrs)}`);
  return found;
};

const openaiBase = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
  'server.address': 'api.openai.com',
  'server.port': 443,
};

/** Output chunks of the hand-built stream calls: ms after T0, gaps 10, 40 and 950 ms. */
const chunkOffsets = [250, 260, 300, 1250];

/** A streaming call observed as the capture does: each output chunk reported as it ends, then finish. */
const streamed = (t: Telemetry, call: ReturnType<typeof chatCall>): void => {
  const observation = t.start(contextFor());
  for (const offset of chunkOffsets) observation.outputChunk?.(call.timing.start + offset);
  observation.finish(call);
};

describe('GenAI metrics', () => {
  it('exports semconv names, units, bucket boundaries and values, all DELTA', async () => {
    const t = await start();
    streamed(t, chatCall());
    t.start(contextFor()).finish(anthropicCall());
    streamed(t, chatCall({ outcome: 'errored', httpStatus: 503 }));
    await t.shutdown();

    const tokens = metric('gen_ai.client.token.usage');
    expect(tokens).toMatchObject({
      type: 'histogram',
      unit: '{token}',
      temporality: 'AGGREGATION_TEMPORALITY_DELTA',
    });
    const input = pointWith(tokens, { ...openaiBase, 'gen_ai.token.type': 'input' });
    expect(input.explicitBounds).toEqual(SPEC_TOKEN_BUCKETS);
    expect(input).toMatchObject({ count: 2, sum: 2 * 1149 });
    expect(input.attributes).toEqual({ ...openaiBase, 'gen_ai.token.type': 'input' });
    expect(pointWith(tokens, { ...openaiBase, 'gen_ai.token.type': 'output' })).toMatchObject({
      count: 2,
      sum: 706,
    });
    expect(
      pointWith(tokens, { 'gen_ai.provider.name': 'anthropic', 'gen_ai.token.type': 'input' }),
    ).toMatchObject({
      count: 1,
      sum: 1167,
    });

    const duration = metric('gen_ai.client.operation.duration');
    expect(duration).toMatchObject({ unit: 's', temporality: 'AGGREGATION_TEMPORALITY_DELTA' });
    const ok = pointWith(duration, openaiBase);
    expect(ok.attributes).not.toHaveProperty('error.type');
    expect(ok.explicitBounds).toEqual(SPEC_DURATION_BUCKETS);
    const failed = duration.points.filter((p) => p.attributes['error.type'] === '503');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.sum).toBeCloseTo(1.25, 9);
    // 1.25 s falls in the (0.64, 1.28] bucket: index 7 of 15.
    expect(ok.bucketCounts?.[7]).toBe(1);

    const ttfc = metric('gen_ai.client.operation.time_to_first_chunk');
    expect(ttfc.unit).toBe('s');
    // Streaming calls only: the two OpenAI stream calls, none for the non-streaming Anthropic one.
    expect(ttfc.points.map((p) => p.attributes['gen_ai.provider.name'])).toEqual(['openai']);
    expect(ttfc.points[0]).toMatchObject({ count: 2, sum: 0.5, explicitBounds: SPEC_DURATION_BUCKETS });

    const tpoc = metric('gen_ai.client.operation.time_per_output_chunk');
    // One sample per chunk after the first (semconv): 3 gaps × 2 stream calls, in their own buckets —
    // 0.01 s in (0, 0.01], 0.04 s in (0.02, 0.04], 0.95 s in (0.64, 1.28]. The non-streaming call has none.
    expect(tpoc.points.map((p) => p.attributes['gen_ai.provider.name'])).toEqual(['openai']);
    expect(tpoc.points[0]).toMatchObject({
      count: 6,
      min: 0.01,
      max: 0.95,
      explicitBounds: SPEC_DURATION_BUCKETS,
    });
    expect(tpoc.points[0]?.sum).toBeCloseTo(2 * (0.01 + 0.04 + 0.95), 9);
    expect(tpoc.points[0]?.bucketCounts).toEqual([2, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);

    const cost = metric('gen_ai.usage.cost');
    expect(cost).toMatchObject({
      type: 'sum',
      unit: 'USD',
      monotonic: true,
      temporality: 'AGGREGATION_TEMPORALITY_DELTA',
    });
    // The 503 call carries usage (hand-built) and is priced too: 2 × $0.00030735.
    expect(pointWith(cost, openaiBase).value).toBeCloseTo(2 * 0.00030735, 12);
    expect(pointWith(cost, { 'gen_ai.provider.name': 'anthropic' }).value).toBeCloseTo(0.0033909, 12);

    const overhead = metric('llmtap.proxy.overhead');
    expect(overhead.unit).toBe('s');
    const anthropicOverhead = pointWith(overhead, { 'gen_ai.provider.name': 'anthropic' });
    // (upstream sent 0.5 ms − start) + (client first byte − upstream first byte 0.2 ms) = 0.7 ms.
    // Epoch-ms doubles near 1.78e12 resolve ~0.24 µs, hence 6 digits.
    expect(anthropicOverhead.sum).toBeCloseTo(0.0007, 6);
    expect(anthropicOverhead.explicitBounds).toEqual(DOCUMENTED_OVERHEAD_BUCKETS);

    for (const m of receiver.metrics) {
      expect(m.scope).toEqual({ name: 'llmtap', version: '1.2.3' });
      expect(m.temporality, m.name).toBe('AGGREGATION_TEMPORALITY_DELTA');
    }
  });

  it('counts calls it cannot price instead of recording $0', async () => {
    const t = await start();
    const unknownModel = chatCall({
      request: { ...chatCall().request, requestModel: 'my-finetune' },
      response: { ...chatCall().response, responseModel: 'my-finetune' },
    });
    t.start(contextFor()).finish(unknownModel);
    t.start(contextFor()).finish(chatCall({ response: { ...chatCall().response, usage: emptyUsage } }));
    await t.shutdown();
    const unpriced = metric('llmtap.usage.unpriced_calls');
    expect(pointWith(unpriced, { 'llmtap.unpriced.reason': 'unknown_model' }).value).toBe(1);
    expect(pointWith(unpriced, { 'llmtap.unpriced.reason': 'unknown_usage' }).value).toBe(1);
    expect(receiver.metrics.find((m) => m.name === 'gen_ai.usage.cost')).toBeUndefined();
    // No token usage is recorded for the call without usage (never 0).
    const tokens = metric('gen_ai.client.token.usage');
    expect(tokens.points.every((p) => p.count === 1)).toBe(true);
  });

  it('calls of different series, error types and unpriced reasons in turn land each in their own point', async () => {
    const t = await start();
    const finetune = (over: Parameters<typeof chatCall>[0] = {}) =>
      chatCall({
        request: { ...chatCall().request, requestModel: 'my-finetune' },
        response: { ...chatCall().response, responseModel: 'my-finetune' },
        ...over,
      });
    const noUsage = { ...chatCall().response, usage: emptyUsage };
    const sequence = [
      chatCall(),
      finetune(),
      chatCall({ outcome: 'errored', httpStatus: 503 }),
      chatCall({ outcome: 'errored', httpStatus: 429 }),
      chatCall({ response: noUsage }),
      finetune({ outcome: 'errored', httpStatus: 503 }),
      chatCall({ outcome: 'errored', httpStatus: 503 }),
      finetune(),
      chatCall(),
    ];
    for (const call of sequence) t.start(contextFor()).finish(call);
    await t.shutdown();
    const duration = metric('gen_ai.client.operation.duration');
    const count = (model: string, errorType: string | undefined): number | undefined =>
      duration.points.find(
        (p) => p.attributes['gen_ai.request.model'] === model && p.attributes['error.type'] === errorType,
      )?.count;
    expect(count('gpt-4o-mini', undefined)).toBe(3);
    expect(count('gpt-4o-mini', '503')).toBe(2);
    expect(count('gpt-4o-mini', '429')).toBe(1);
    expect(count('my-finetune', undefined)).toBe(2);
    expect(count('my-finetune', '503')).toBe(1);
    expect(duration.points).toHaveLength(5);
    const unpriced = metric('llmtap.usage.unpriced_calls');
    expect(
      pointWith(unpriced, {
        'gen_ai.request.model': 'my-finetune',
        'llmtap.unpriced.reason': 'unknown_model',
      }).value,
    ).toBe(3);
    expect(
      pointWith(unpriced, {
        'gen_ai.request.model': 'gpt-4o-mini',
        'llmtap.unpriced.reason': 'unknown_usage',
      }).value,
    ).toBe(1);
    expect(unpriced.points).toHaveLength(2);
    const input = metric('gen_ai.client.token.usage').points.filter(
      (p) => p.attributes['gen_ai.token.type'] === 'input',
    );
    expect(input.map((p) => [p.attributes['gen_ai.request.model'], p.count])).toEqual([
      ['gpt-4o-mini', 5],
      ['my-finetune', 3],
    ]);
  });

  it('DELTA across two export intervals: the second export holds only the second interval’s calls', async () => {
    const t = await start({ OTEL_METRIC_EXPORT_INTERVAL: '300' });
    t.start(contextFor()).finish(chatCall());
    await receiver.waitFor(
      () => receiver.metrics.some((m) => m.name === 'gen_ai.client.token.usage'),
      5000,
      'the first interval',
    );
    const first = metric('gen_ai.client.token.usage').exportIndex;
    t.start(contextFor()).finish(chatCall());
    t.start(contextFor()).finish(chatCall());
    await receiver.waitFor(
      () => receiver.metrics.some((m) => m.name === 'gen_ai.client.token.usage' && m.exportIndex > first),
      5000,
      'the second interval',
    );
    const second = receiver.metrics.find(
      (m) => m.name === 'gen_ai.client.token.usage' && m.exportIndex > first,
    );
    const firstInput = pointWith(metric('gen_ai.client.token.usage', first), {
      'gen_ai.token.type': 'input',
    });
    const secondInput = pointWith(second as ReceivedMetric, { 'gen_ai.token.type': 'input' });
    expect(firstInput).toMatchObject({ count: 1, sum: 1149 });
    expect(secondInput).toMatchObject({ count: 2, sum: 2 * 1149 });
    // Delta points start where the previous interval ended.
    expect(secondInput.startNs).toBeGreaterThanOrEqual(firstInput.timeNs);
    const firstCost = pointWith(metric('gen_ai.usage.cost', first), openaiBase).value;
    const secondCost = pointWith(metric('gen_ai.usage.cost', second?.exportIndex), openaiBase).value;
    expect(firstCost).toBeCloseTo(0.00030735, 12);
    expect(secondCost).toBeCloseTo(2 * 0.00030735, 12);
    for (const m of receiver.metrics) expect(m.temporality, m.name).toBe('AGGREGATION_TEMPORALITY_DELTA');
  });

  it('honours OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative', async () => {
    const t = await start({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative' });
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    expect(metric('gen_ai.client.token.usage').temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    expect(metric('gen_ai.usage.cost').temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
  });

  it('counts telemetry stage errors by stage', async () => {
    const t = await start();
    t.recordError('parse', new Error('bad frame'));
    t.recordError('parse', new Error('bad frame'));
    t.recordError('decode', Object.assign(new Error('zlib'), { code: 'Z_DATA_ERROR' }));
    await t.shutdown();
    const errors = metric('llmtap.telemetry.errors');
    expect(pointWith(errors, { 'llmtap.telemetry.stage': 'parse' }).value).toBe(2);
    expect(pointWith(errors, { 'llmtap.telemetry.stage': 'decode' }).value).toBe(1);
  });
});

const deadUrl = async (): Promise<string> => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}/v1/traces`;
};

describe('exporter down', () => {
  it('finish() keeps returning synchronously; queue overflow and failed exports move the drop counter', async () => {
    const logger = memoryLogger();
    const t = await start(
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: await deadUrl(),
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500',
        OTEL_BSP_MAX_QUEUE_SIZE: '2',
        OTEL_BSP_SCHEDULE_DELAY: '60000',
      },
      logger,
    );
    for (let i = 0; i < 10; i++) {
      const fields = t.start(contextFor()).finish(chatCall());
      expect(fields).not.toBeInstanceOf(Promise);
      expect(fields?.inputTokens).toBe(1149);
    }
    await t.shutdown();
    const dropped = metric('llmtap.telemetry.dropped');
    expect(dropped.unit).toBe('{item}');
    expect(
      pointWith(dropped, {
        'llmtap.telemetry.signal': 'traces',
        'llmtap.telemetry.drop_reason': 'queue_full',
      }).value,
    ).toBe(8);
    expect(
      pointWith(dropped, {
        'llmtap.telemetry.signal': 'traces',
        'llmtap.telemetry.drop_reason': 'export_failed',
      }).value,
    ).toBe(2);
    expect(logger.lines.some((l) => l.includes('"msg":"telemetry dropped"'))).toBe(true);
    // The metrics of all ten calls still arrived: drops on one signal never cost the other.
    expect(pointWith(metric('gen_ai.client.token.usage'), { 'gen_ai.token.type': 'input' }).count).toBe(10);
  });
});

describe('collector failing, then recovering', () => {
  it('counts the metric data points lost while it failed and reports them once it is back', async () => {
    receiver.respondWith(503);
    const t = await start({ OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_EXPORTER_OTLP_TIMEOUT: '250' });
    streamed(t, chatCall());
    await receiver.waitFor(
      () => receiver.raw.some((r) => r.path === '/v1/metrics'),
      5000,
      'a failed metrics export',
    );
    receiver.respondWith(200);
    const lost = (): number =>
      receiver.metrics
        .filter((m) => m.name === 'llmtap.telemetry.dropped')
        .flatMap((m) => m.points)
        .filter((p) => p.attributes['llmtap.telemetry.signal'] === 'metrics')
        .reduce((n, p) => n + (p.value ?? 0), 0);
    await receiver.waitFor(() => lost() > 0, 5000, 'the metrics drop count');
    // The lost interval held the call's data points (token usage ×2, duration, TTFC, TPOC, cost, overhead).
    expect(lost()).toBeGreaterThanOrEqual(7);
    // Delta: the call lost with the failed export is not re-sent later.
    expect(receiver.metrics.some((m) => m.name === 'gen_ai.client.token.usage')).toBe(false);
  });
});

describe('collector that never answers', () => {
  it('shutdown() still resolves, bounded by its timeout, and finish() keeps working meanwhile', async () => {
    const hung = createServer(() => {
      // Accept the export and never answer it.
    });
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    try {
      const t = await createTelemetry({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: url,
          OTEL_BSP_SCHEDULE_DELAY: '10',
          // Exports outlast the test: only the 300 ms shutdown bound can settle shutdown().
          OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
          LLMTAP_PODINFO_DIR: '/nonexistent',
        },
        logger: memoryLogger(),
        version: '1',
        shutdownTimeoutMs: 300,
      });
      t.start(contextFor()).finish(chatCall());
      // Let the first span export reach the hung collector, then keep finishing calls while it hangs.
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 5; i++) expect(t.start(contextFor()).finish(chatCall())?.outputTokens).toBe(353);
      let settled = false;
      await t.shutdown().then(() => {
        settled = true;
      });
      expect(settled).toBe(true);
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });
});

describe('no endpoint configured', () => {
  it('says so once, exports nothing, and still returns the log fields', async () => {
    const logger = memoryLogger();
    telemetry = await createTelemetry({ env: {}, logger, version: '1.2.3' });
    expect(telemetry.describe()).toBe('no OTLP endpoint configured: exporting nothing');
    const observation = telemetry.start(
      contextFor({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    );
    // Nothing is injected: the app's own traceparent goes upstream untouched.
    expect(observation.upstreamHeaders).toBeUndefined();
    const fields = observation.finish(chatCall());
    expect(fields).toMatchObject({ provider: 'openai', inputTokens: 1149, outcome: 'completed' });
    expect(fields?.costUsd).toBeCloseTo(0.00030735, 12);
    await telemetry.shutdown();
    expect(receiver.raw).toHaveLength(0);
    expect(logger.lines.filter((l) => l.includes('no OTLP endpoint configured'))).toHaveLength(1);
  });

  it('rejects an invalid setting with a typed error naming the variable', async () => {
    const error = await createTelemetry({
      env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' },
      logger: memoryLogger(),
      version: '1',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LLMTAP_TELEMETRY_ENV_INVALID' });
    expect((error as Error).message).toContain('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE');
  });
});
