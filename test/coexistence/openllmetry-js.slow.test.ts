/**
 * Coexisting with OpenLLMetry-JS, with the real thing: a Node app (child process, `openllmetry-app.ts`) whose
 * `openai` SDK is instrumented by `@traceloop/instrumentation-openai` and exports its spans to the in-test OTLP
 * receiver, calling through llmtap to a local fake OpenAI. llmtap exports to the same receiver, as both would to
 * one backend. One llmtap route per mode: `metrics` must give exactly one GenAI span per call (the SDK's) plus
 * llmtap's token, duration and cost for every call; `full` gives two GenAI spans per call — what a backend that
 * counts GenAI spans would count twice, and why `metrics` is the mode for these apps.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_USAGE, startFakeOpenAi } from '../helpers/fake-openai.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import {
  type OtlpReceiver,
  type ReceivedPoint,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.ts';
import type { Upstream } from '../helpers/upstream.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const SDK_SCOPE = '@traceloop/instrumentation-openai';

/** The model each route's calls ask for, so calls, spans and metric points can be matched to their route. */
const modelOf = { metrics: 'gpt-4o-mini', full: 'gpt-4.1-mini' } as const;
type Mode = keyof typeof modelOf;
/** Per route: two plain calls and one streaming call. */
const streams = [false, false, true];

let upstream: Upstream;
let receiver: OtlpReceiver;
let llmtap: TestLlmtap;
let appOutput: string;

beforeAll(async () => {
  upstream = await startFakeOpenAi();
  receiver = await startOtlpReceiver();
  llmtap = await startFullLlmtap(
    {
      routes: (Object.keys(modelOf) as Mode[]).map((mode) => ({
        prefix: `/${mode}`,
        provider: 'openai',
        upstream: upstream.url,
        mode,
      })),
    },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '600000' },
  );
  const calls = (Object.keys(modelOf) as Mode[]).flatMap((mode) =>
    streams.map((stream) => ({
      baseURL: `${llmtap.server.dataUrl}/${mode}/v1`,
      model: modelOf[mode],
      stream,
    })),
  );
  const { stdout } = await run(
    `${root}node_modules/.bin/node`,
    [`${root}test/coexistence/openllmetry-app.ts`, JSON.stringify(calls)],
    {
      cwd: root,
      timeout: 30_000,
      // Only what the app needs: none of the test runner's own OTEL_* settings leak in.
      env: {
        PATH: process.env.PATH ?? '',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_SERVICE_NAME: 'olm-js-app',
      },
    },
  );
  appOutput = stdout;
  // The app flushed its spans before printing `done`; llmtap flushes spans and metrics on shutdown.
  await llmtap.shutdown();
}, 60_000);

afterAll(async () => {
  await llmtap?.shutdown();
  await receiver?.close();
  await upstream?.close();
});

const isGenAi = (span: ReceivedSpan): boolean =>
  span.attributes['gen_ai.provider.name'] !== undefined || span.attributes['gen_ai.system'] !== undefined;

const sdkSpans = (mode: Mode): ReceivedSpan[] =>
  receiver.spans.filter(
    (span) => span.scope.name === SDK_SCOPE && span.attributes['gen_ai.request.model'] === modelOf[mode],
  );

/** Every GenAI span of the trace the SDK span started (one trace per call: the app has no outer span). */
const genAiSpansOfCall = (sdkSpan: ReceivedSpan): ReceivedSpan[] =>
  receiver.spans.filter((span) => span.traceId === sdkSpan.traceId && isGenAi(span));

const points = (metric: string, mode: Mode): ReceivedPoint[] =>
  receiver.metrics
    .filter((m) => m.name === metric && m.scope.name === 'llmtap')
    .flatMap((m) => m.points)
    .filter((p) => p.attributes['gen_ai.request.model'] === modelOf[mode]);

describe('an OpenLLMetry-JS app behind llmtap', () => {
  it('ran every call through llmtap and flushed its spans', () => {
    const lines = appOutput.trim().split('\n');
    expect(lines.at(-1)).toBe('done');
    expect(lines.slice(0, -1).map((line) => (JSON.parse(line) as { content: string }).content)).toEqual(
      Array(6).fill('Hi there'),
    );
    expect(upstream.received).toHaveLength(6);
  });

  it('metrics mode: exactly one GenAI span per call — the SDK’s', () => {
    const spans = sdkSpans('metrics');
    expect(spans).toHaveLength(streams.length);
    for (const sdkSpan of spans) {
      expect(sdkSpan.kind).toBe('SPAN_KIND_CLIENT');
      expect(sdkSpan.resource['service.name']).toBe('olm-js-app');
      expect(genAiSpansOfCall(sdkSpan)).toEqual([sdkSpan]);
    }
    expect(
      receiver.spans.filter(
        (s) => s.scope.name === 'llmtap' && s.attributes['gen_ai.request.model'] === modelOf.metrics,
      ),
    ).toEqual([]);
    // llmtap passed the app's trace context on untouched: the provider sees the SDK span as the caller.
    const sent = upstream.received.filter((r) => r.body.includes(`"model":"${modelOf.metrics}"`));
    expect(sent.map((r) => r.headers.traceparent?.toString().split('-')[2]).sort()).toEqual(
      spans.map((s) => s.spanId).sort(),
    );
  });

  it('metrics mode: llmtap’s token usage, duration and cost for every call', () => {
    const tokens = points('gen_ai.client.token.usage', 'metrics');
    const input = tokens.find((p) => p.attributes['gen_ai.token.type'] === 'input');
    const output = tokens.find((p) => p.attributes['gen_ai.token.type'] === 'output');
    // Streaming calls too: llmtap asked for the stream's usage and hid it from the app.
    expect(input).toMatchObject({ count: streams.length, sum: streams.length * FAKE_USAGE.prompt_tokens });
    expect(output).toMatchObject({
      count: streams.length,
      sum: streams.length * FAKE_USAGE.completion_tokens,
    });
    const durations = points('gen_ai.client.operation.duration', 'metrics');
    expect(durations.reduce((n, p) => n + (p.count ?? 0), 0)).toBe(streams.length);
    expect(durations.every((p) => p.attributes['error.type'] === undefined)).toBe(true);
    const cost = points('gen_ai.usage.cost', 'metrics');
    expect(cost).toHaveLength(1);
    // gpt-4o-mini list price: 0.15 / 0.6 USD per 1M input / output tokens.
    expect(cost[0]?.value).toBeCloseTo((streams.length * (9 * 0.15 + 3 * 0.6)) / 1e6, 12);
    // The same provider name as the SDK's spans, so the two join on it.
    expect(input?.attributes['gen_ai.provider.name']).toBe(
      sdkSpans('metrics')[0]?.attributes['gen_ai.provider.name'],
    );
    // And the plain calls' tokens agree with what the SDK put on its spans.
    const sdkInput = sdkSpans('metrics')
      .map((s) => s.attributes['gen_ai.usage.input_tokens'])
      .filter((v) => v !== undefined);
    expect(sdkInput).toContain(FAKE_USAGE.prompt_tokens);
  });

  it('full mode: two GenAI spans per call, llmtap’s nested under the SDK’s — each call counted twice', () => {
    const spans = sdkSpans('full');
    expect(spans).toHaveLength(streams.length);
    for (const sdkSpan of spans) {
      const genAi = genAiSpansOfCall(sdkSpan);
      expect(genAi).toHaveLength(2);
      const ours = genAi.find((s) => s.scope.name === 'llmtap');
      expect(ours?.parentSpanId).toBe(sdkSpan.spanId);
      expect(ours?.attributes['gen_ai.provider.name']).toBe(sdkSpan.attributes['gen_ai.provider.name']);
    }
    // Metrics are emitted in full mode as well.
    expect(points('gen_ai.client.token.usage', 'full').length).toBe(2);
  });
});
