/**
 * Direct export, no collector: llmtap configured exactly as the docs tell a user of the guide's backend
 * (`OTEL_EXPORTER_OTLP_ENDPOINT=https://<env>/api/v2/otlp`, `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Api-Token%20<token>`)
 * and driven with recorded OpenAI, Anthropic, Gemini and Bedrock exchanges, against a loopback backend that accepts
 * only what the real one accepts (fake-otlp-backend.ts). Every call's span, metrics and (events on) log records
 * must arrive there with 0 rejected points; the negative controls prove the backend does reject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendReplay, backendCalls, startBackendReplay } from '../helpers/backend-replay.ts';
import { type FakeOtlpBackend, startFakeOtlpBackend } from '../helpers/fake-otlp-backend.ts';

const token = 'dt0c01.FAKEBACKENDTOKEN.0123456789abcdef';
let replay: BackendReplay;
beforeAll(async () => {
  replay = await startBackendReplay();
});
afterAll(async () => {
  await replay.close();
});

describe('direct export to the guide backend (Api-Token, http/protobuf, delta only)', () => {
  let backend: FakeOtlpBackend;
  beforeAll(async () => {
    backend = await startFakeOtlpBackend(token);
    const app = await replay.start(backend, {
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_AND_EVENT',
    });
    try {
      for (const call of backendCalls) await replay.call(app, call.file, call.prefix);
    } finally {
      // Shutdown flushes every signal: spans, the last metric interval and the queued log records.
      await app.shutdown();
    }
  }, 30_000);
  afterAll(async () => {
    await backend.close();
  });

  it('every request went to /api/v2/otlp/v1/{traces,metrics,logs} with the Api-Token header and was accepted', () => {
    const paths = new Set(backend.responses.map((r) => r.path));
    expect([...paths].sort()).toEqual([
      '/api/v2/otlp/v1/logs',
      '/api/v2/otlp/v1/metrics',
      '/api/v2/otlp/v1/traces',
    ]);
    for (const r of backend.responses) {
      expect(r.authorization).toBe(`Api-Token ${token}`);
      expect(r.status, r.path).toBe(200);
    }
  });

  it('every call has its span, its token and duration metrics, and 0 points were rejected', () => {
    expect(backend.rejectedPoints()).toBe(0);
    expect(backend.acceptedPoints()).toBeGreaterThan(0);
    expect(backend.spans).toHaveLength(backendCalls.length);
    for (const call of backendCalls) {
      const span = backend.spans.find((s) => s.attributes['gen_ai.provider.name'] === call.provider);
      expect(span, call.file).toBeDefined();
      const model = span?.attributes['gen_ai.request.model'];
      for (const name of ['gen_ai.client.token.usage', 'gen_ai.client.operation.duration']) {
        const points = backend.metrics
          .filter((m) => m.name === name)
          .flatMap((m) => m.points)
          .filter(
            (p) =>
              p.attributes['gen_ai.provider.name'] === call.provider &&
              p.attributes['gen_ai.request.model'] === model,
          );
        expect(points.length, `${name} for ${call.file}`).toBeGreaterThan(0);
      }
    }
    for (const metric of backend.metrics) {
      if (metric.type === 'sum' || metric.type === 'histogram') {
        expect(metric.temporality, metric.name).toBe('AGGREGATION_TEMPORALITY_DELTA');
      }
    }
  });

  it('every call has its GenAI event as a log record carrying the span ids and structured content', () => {
    const details = backend.logs.filter((l) => l.eventName === 'gen_ai.client.inference.operation.details');
    expect(details).toHaveLength(backendCalls.length);
    for (const span of backend.spans) {
      const record = details.find((l) => l.spanId === span.spanId);
      expect(record, span.name).toBeDefined();
      expect(record?.traceId).toBe(span.traceId);
      expect(record?.attributes['gen_ai.provider.name']).toBe(span.attributes['gen_ai.provider.name']);
      expect(record?.attributes['gen_ai.usage.input_tokens']).toBe(
        span.attributes['gen_ai.usage.input_tokens'],
      );
      expect(record?.resource['service.name']).toBe('chat-app');
      // Structured (semconv form on events), not the JSON string spans carry.
      const input = record?.attributes['gen_ai.input.messages'];
      expect(Array.isArray(input), span.name).toBe(true);
      expect(typeof span.attributes['gen_ai.input.messages']).toBe('string');
    }
  });
});

describe('the fake backend rejects what the real one rejects (negative controls)', () => {
  it('cumulative metrics are counted as rejected', async () => {
    const backend = await startFakeOtlpBackend(token);
    try {
      const app = await replay.start(backend, {
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative',
      });
      try {
        await replay.call(app, backendCalls[0].file, backendCalls[0].prefix);
      } finally {
        await app.shutdown();
      }
      expect(backend.rejectedPoints()).toBeGreaterThan(0);
      expect(backend.rejected.UNSUPPORTED_METRIC_TYPE_CUMULATIVE_HISTOGRAM).toBeGreaterThan(0);
    } finally {
      await backend.close();
    }
  });

  it('a Bearer header instead of Api-Token gets 401 and nothing is stored; events off sends no logs', async () => {
    const backend = await startFakeOtlpBackend(token);
    try {
      const app = await replay.start(backend, {
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${token}`,
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_ONLY',
      });
      try {
        await replay.call(app, backendCalls[1].file, backendCalls[1].prefix);
      } finally {
        await app.shutdown();
      }
      expect(backend.responses.length).toBeGreaterThan(0);
      expect(backend.responses.every((r) => r.status === 401)).toBe(true);
      expect(backend.responses.some((r) => r.path.endsWith('/v1/logs'))).toBe(false);
      expect(backend.spans).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});

describe('GenAI events: bounded queue, fail-open', () => {
  it('records that do not fit are dropped and counted, the logs endpoint being down never touches the calls', async () => {
    const backend = await startFakeOtlpBackend(token);
    try {
      const app = await replay.start(backend, {
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'EVENT_ONLY',
        // Nothing listens there; one record fits the queue and waits for a batch that never comes in time.
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://127.0.0.1:9/v1/logs',
        OTEL_BLRP_MAX_QUEUE_SIZE: '1',
        OTEL_BLRP_SCHEDULE_DELAY: '600000',
      });
      try {
        // replay.call checks the app got the provider's exact bytes and status, each time.
        for (const call of backendCalls) await replay.call(app, call.file, call.prefix);
      } finally {
        await app.shutdown();
      }
      const dropped = backend.metrics
        .filter((m) => m.name === 'llmtap.telemetry.dropped')
        .flatMap((m) => m.points)
        .filter(
          (p) =>
            p.attributes['llmtap.telemetry.signal'] === 'logs' &&
            p.attributes['llmtap.telemetry.drop_reason'] === 'queue_full',
        )
        .reduce((sum, p) => sum + (p.value ?? 0), 0);
      expect(dropped).toBe(backendCalls.length - 1);
      // EVENT_ONLY: content stays off the spans.
      expect(backend.spans).toHaveLength(backendCalls.length);
      for (const span of backend.spans) expect(span.attributes['gen_ai.input.messages']).toBeUndefined();
    } finally {
      await backend.close();
    }
  });
});

describe('a shutdown right after the last response (a Job whose app just exited)', () => {
  it('still exports that call: the drain waits for the copy to be parsed before telemetry is flushed', async () => {
    const backend = await startFakeOtlpBackend(token);
    try {
      const app = await replay.start(backend);
      // OpenAI, not streamed: its copy is parsed after the last byte went to the app (found by this test).
      const { file, prefix, provider } = backendCalls[0];
      // No waiting for llmtap's request log line here (replay.call does): shut down the moment the app has
      // its last byte, as a native sidecar is stopped right after the app container exits.
      await replay.request(app, file, prefix);
      await app.shutdown();
      expect(backend.spans.map((s) => s.attributes['gen_ai.provider.name'])).toEqual([provider]);
      const tokens = backend.metrics
        .filter((m) => m.name === 'gen_ai.client.token.usage')
        .flatMap((m) => m.points);
      expect(tokens.length).toBeGreaterThan(0);
    } finally {
      await backend.close();
    }
  });
});
