/**
 * `GET /metrics` on the admin listener (#18): the real openai and @anthropic-ai/sdk clients make calls through
 * the whole llmtap while OTLP exports DELTA metrics to the in-test receiver every 300 ms; the Prometheus text is
 * parsed by the format's rules (test/helpers/prometheus-text.ts) and every series is checked against the sum of
 * the OTLP deltas of the same calls — across several OTLP exports, so a Prometheus view that reset with the
 * delta collection (or missed calls before the first scrape) would fail. Same series as OTLP, no more.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type Attrs, type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { type Family, type Labels, parsePrometheusText } from '../helpers/prometheus-text.ts';

const promName = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');

const labelsOf = (attributes: Attrs): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    out[promName(key)] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
};

const keyOf = (labels: Labels): string =>
  JSON.stringify(
    Object.keys(labels)
      .filter((key) => !key.startsWith('otel_scope_') && key !== 'le')
      .sort()
      .map((key) => [key, labels[key]]),
  );

interface Totals {
  count: number;
  sum: number;
  buckets: number[];
  bounds: number[];
  value: number;
}

/** The OTLP deltas summed per (metric, attribute set): what a cumulative view must show. */
const otlpTotals = (receiver: OtlpReceiver): Map<string, Map<string, Totals>> => {
  const out = new Map<string, Map<string, Totals>>();
  for (const metric of receiver.metrics) {
    expect(metric.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    const name =
      metric.type === 'sum' && metric.monotonic === true
        ? `${promName(metric.name)}_total`
        : promName(metric.name);
    let series = out.get(name);
    if (series === undefined) {
      series = new Map();
      out.set(name, series);
    }
    for (const point of metric.points) {
      const key = keyOf(labelsOf(point.attributes));
      const total = series.get(key) ?? { count: 0, sum: 0, buckets: [], bounds: [], value: 0 };
      total.count += point.count ?? 0;
      total.sum += point.sum ?? 0;
      total.value += point.value ?? 0;
      total.bounds = point.explicitBounds ?? total.bounds;
      (point.bucketCounts ?? []).forEach((count, i) => {
        total.buckets[i] = (total.buckets[i] ?? 0) + count;
      });
      series.set(key, total);
    }
  }
  return out;
};

const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
};

/** Every Prometheus series equals the OTLP total of the same series, and there are no others. */
const expectSameAsOtlp = (families: Map<string, Family>, receiver: OtlpReceiver): void => {
  const otlp = otlpTotals(receiver);
  const promFamilies = [...families.values()].filter((f) => f.name !== 'target_info' && f.samples.length > 0);
  expect(promFamilies.map((f) => f.name).sort()).toEqual([...otlp.keys()].sort());
  for (const family of promFamilies) {
    const expected = otlp.get(family.name) as Map<string, Totals>;
    const seriesKeys = new Set(family.samples.map((sample) => keyOf(sample.labels)));
    expect([...seriesKeys].sort(), family.name).toEqual([...expected.keys()].sort());
    for (const [key, total] of expected) {
      const samples = family.samples.filter((sample) => keyOf(sample.labels) === key);
      if (family.type === 'histogram') {
        expect(samples.find((s) => s.name.endsWith('_count'))?.value, `${family.name}${key}`).toBe(
          total.count,
        );
        close(samples.find((s) => s.name.endsWith('_sum'))?.value as number, total.sum);
        let cumulative = 0;
        total.buckets.forEach((count, i) => {
          cumulative += count;
          const le = i < total.bounds.length ? String(total.bounds[i]) : '+Inf';
          expect(samples.find((s) => s.labels.le === le)?.value, `${family.name}${key} le=${le}`).toBe(
            cumulative,
          );
        });
      } else {
        expect(family.type).toBe('counter');
        expect(samples).toHaveLength(1);
        close(samples[0]?.value as number, total.value);
      }
    }
  }
};

const durationCount = (receiver: OtlpReceiver): number =>
  receiver.metrics
    .filter((m) => m.name === 'gen_ai.client.operation.duration')
    .flatMap((m) => m.points)
    .reduce((sum, point) => sum + (point.count ?? 0), 0);

describe('Prometheus /metrics against the OTLP deltas of the same calls', () => {
  let fake: FakeLlm;
  let receiver: OtlpReceiver;
  let app: TestLlmtap;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    fake = await startFakeLlm();
    receiver = await startOtlpReceiver();
    app = await startFullLlmtap(
      {
        routes: [
          { prefix: '/openai', provider: 'openai', upstream: fake.url },
          { prefix: '/anthropic', provider: 'anthropic', upstream: fake.url },
        ],
      },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRIC_EXPORT_INTERVAL: '300',
        K8S_POD_NAME: 'chat-0',
      },
    );
    openai = new OpenAI({
      apiKey: 'sk-proj-PROMCANARY0123456789',
      baseURL: `${app.server.dataUrl}/openai/v1`,
      maxRetries: 0,
    });
    anthropic = new Anthropic({
      apiKey: 'sk-ant-PROMCANARY0123456789',
      baseURL: `${app.server.dataUrl}/anthropic`,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    await app.shutdown();
    await receiver.close();
    await fake.close();
  });

  const scrape = async (): Promise<{ text: string; families: Map<string, Family> }> => {
    const res = await fetch(`${app.server.adminUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    return { text, families: parsePrometheusText(text) };
  };

  it('parses, and equals the OTLP totals after each of several exports', async () => {
    // Before any call: valid text with only the target.
    const empty = await scrape();
    expect([...empty.families.keys()]).toEqual(['target_info']);

    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const part of await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })) {
      text += part.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('Hello');
    await anthropic.messages.create({
      model: 'claude-3-5-haiku',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await expect(
      openai.chat.completions.create({ model: 'rate-limited', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow();
    await receiver.waitFor(() => durationCount(receiver) === 4, 10_000, 'first four calls exported');
    const first = await scrape();
    expectSameAsOtlp(first.families, receiver);
    const exportsAfterFirst = new Set(receiver.metrics.map((m) => m.exportIndex)).size;

    const stream = anthropic.messages.stream({
      model: 'claude-3-5-haiku',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(await stream.finalText()).toBe('Hello');
    await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] });
    await receiver.waitFor(() => durationCount(receiver) === 6, 10_000, 'all six calls exported');
    const second = await scrape();
    expectSameAsOtlp(second.families, receiver);
    // The later calls came in later OTLP exports: each delta alone is less than what Prometheus shows.
    expect(new Set(receiver.metrics.map((m) => m.exportIndex)).size).toBeGreaterThan(exportsAfterFirst);

    const tokens = second.families.get('gen_ai_client_token_usage') as Family;
    expect(tokens.type).toBe('histogram');
    const inputCount = tokens.samples
      .filter((s) => s.name.endsWith('_count') && s.labels.gen_ai_token_type === 'input')
      .reduce((sum, s) => sum + s.value, 0);
    expect(inputCount).toBe(5); // five calls reported usage; the 429 did not
    const errors = (second.families.get('gen_ai_client_operation_duration') as Family).samples.filter(
      (s) => s.name.endsWith('_count') && s.labels.error_type === 'rate_limit_exceeded',
    );
    expect(errors.map((s) => s.value)).toEqual([1]);
    expect(second.families.get('target_info')?.samples[0]?.labels.k8s_pod_name).toBe('chat-0');
    // Nothing secret on the scrape endpoint either.
    expect(second.text).not.toContain('PROMCANARY');
  });
});

describe('/metrics without OTLP, and off', () => {
  it('serves Prometheus alone when no OTLP endpoint is configured', async () => {
    const fake = await startFakeLlm();
    const app = await startFullLlmtap({
      routes: [{ prefix: '/openai', provider: 'openai', upstream: fake.url }],
    });
    try {
      const client = new OpenAI({
        apiKey: 'sk-x',
        baseURL: `${app.server.dataUrl}/openai/v1`,
        maxRetries: 0,
      });
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      const families = parsePrometheusText(await (await fetch(`${app.server.adminUrl}/metrics`)).text());
      const count = families
        .get('gen_ai_client_operation_duration')
        ?.samples.find((s) => s.name.endsWith('_count'));
      expect(count?.value).toBe(2);
      expect(count?.labels).toMatchObject({
        gen_ai_request_model: 'gpt-4o-mini',
        gen_ai_operation_name: 'chat',
      });
    } finally {
      await app.shutdown();
      await fake.close();
    }
  });

  it('is absent when telemetry export is disabled', async () => {
    const app = await startFullLlmtap({}, { OTEL_SDK_DISABLED: 'true' });
    try {
      expect((await fetch(`${app.server.adminUrl}/metrics`)).status).toBe(404);
    } finally {
      await app.shutdown();
    }
  });
});

describe('the parser holds the format rules', () => {
  it('rejects what a scraper rejects', () => {
    expect(() => parsePrometheusText('a 1')).toThrow(/line feed/);
    expect(() => parsePrometheusText('a{b="1} 1\n')).toThrow(/unterminated/);
    expect(() => parsePrometheusText('a 1\na 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheusText('a 1\nb 1\na{x="1"} 1\n')).toThrow(/contiguous/);
    expect(() =>
      parsePrometheusText(
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      ),
    ).toThrow(/decrease/);
    expect(() =>
      parsePrometheusText('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'),
    ).toThrow(/_count/);
    expect(() => parsePrometheusText('1a 1\n')).toThrow(/metric name/);
    expect(
      parsePrometheusText('# HELP a x\\ny\n# TYPE a counter\na{l="q\\"\\\\"} 1e3 17\n').get('a'),
    ).toEqual({
      name: 'a',
      type: 'counter',
      help: 'x\ny',
      samples: [{ name: 'a', labels: { l: 'q"\\' }, value: 1000, timestamp: 17 }],
    });
  });
});
