/**
 * The export settings a user of the guide's backend writes by hand: endpoint, `Authorization=Api-Token%20…`,
 * the logs signal. An unusable value stops start-up naming the variable and never echoing a header value; the
 * logs SDK stays unloaded unless events are asked for.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../src/telemetry/env.ts';
import { TelemetryConfigError } from '../../src/telemetry/errors.ts';

const secret = 'dt0c01.SECRETSECRET.0123456789';
const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://abc12345.live.dynatrace.com/api/v2/otlp' };

const failure = (env: Record<string, string>): TelemetryConfigError => {
  try {
    readSettings(env);
  } catch (error) {
    if (error instanceof TelemetryConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(Object.keys(env))}`);
};

describe('direct export settings for the guide backend', () => {
  it('the documented pair reaches /api/v2/otlp/v1/{traces,metrics,logs} with Authorization: Api-Token', () => {
    const settings = readSettings({
      ...base,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token%20${secret}`,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'EVENT_ONLY',
    });
    expect(settings.traces?.url).toBe('https://abc12345.live.dynatrace.com/api/v2/otlp/v1/traces');
    expect(settings.metrics?.url).toBe('https://abc12345.live.dynatrace.com/api/v2/otlp/v1/metrics');
    expect(settings.logs?.url).toBe('https://abc12345.live.dynatrace.com/api/v2/otlp/v1/logs');
    for (const signal of [settings.traces, settings.metrics, settings.logs]) {
      expect(signal?.headers).toEqual({ Authorization: `Api-Token ${secret}` });
    }
    expect(settings.temporality).toBe('delta');
    // EVENT_ONLY: content on events, not on spans.
    expect(settings.captureEvents).toBe(true);
    expect(settings.captureContent).toBe(false);
  });

  it('a trailing line break (a Secret made from a file) is trimmed, not sent', () => {
    const settings = readSettings({
      ...base,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token%20${secret}\n`,
    });
    expect(settings.traces?.headers).toEqual({ Authorization: `Api-Token ${secret}` });
  });

  it.each([
    ['SPAN_AND_EVENT', true, true],
    ['EVENT_ONLY', false, true],
    ['SPAN_ONLY', true, false],
    ['true', true, false],
    ['NO_CONTENT', false, false],
  ])('content capture %s: spans %s, events %s', (value, spans, events) => {
    const settings = readSettings({ ...base, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: value });
    expect(settings.captureContent).toBe(spans);
    expect(settings.captureEvents).toBe(events);
    expect(settings.logs !== undefined).toBe(events);
  });

  it('the logs signal follows OTEL_LOGS_EXPORTER and OTEL_EXPORTER_OTLP_LOGS_* like the others', () => {
    const events = { ...base, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_AND_EVENT' };
    expect(readSettings({ ...events, OTEL_LOGS_EXPORTER: 'none' }).logs).toBeUndefined();
    const specific = readSettings({
      ...events,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://logs.example:4318/custom/logs',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-tenant=a',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'gzip',
      OTEL_BLRP_MAX_QUEUE_SIZE: '100',
      OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '500',
    });
    expect(specific.logs).toMatchObject({
      url: 'http://logs.example:4318/custom/logs',
      headers: { 'x-tenant': 'a' },
      compression: 'gzip',
    });
    // The batch never exceeds the queue: a bounded queue.
    expect(specific.blrp).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 100 });
  });

  it.each([
    [
      'endpoint without scheme',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'abc12345.live.dynatrace.com/api/v2/otlp' },
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ],
    [
      'grpc-style host:port',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' },
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ],
    [
      'header value with a newline',
      { ...base, OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token%20${secret}%0AX-Injected%3A%201` },
      'OTEL_EXPORTER_OTLP_HEADERS',
    ],
    [
      'header value with a raw CR inside',
      { ...base, OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Api-Token ${secret}\rX-Injected: 1` },
      'OTEL_EXPORTER_OTLP_HEADERS',
    ],
    [
      'header without =',
      { ...base, OTEL_EXPORTER_OTLP_HEADERS: `Api-Token ${secret}` },
      'OTEL_EXPORTER_OTLP_HEADERS',
    ],
    [
      'header name with a space',
      { ...base, OTEL_EXPORTER_OTLP_HEADERS: `Api Token=${secret}` },
      'OTEL_EXPORTER_OTLP_HEADERS',
    ],
    [
      'bad per-signal logs header',
      {
        ...base,
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'EVENT_ONLY',
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: `Authorization=Api-Token%20${secret}%0D`,
      },
      'OTEL_EXPORTER_OTLP_LOGS_HEADERS',
    ],
  ])('refuses %s at start-up, naming the variable and never the secret', (_what, env, variable) => {
    const error = failure(env);
    expect(error.code).toBe('LLMTAP_TELEMETRY_ENV_INVALID');
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('SECRETSECRET');
  });
});

describe('the logs SDK is loaded only when events are asked for', () => {
  it('no src module imports @opentelemetry/sdk-logs or the log exporter except by dynamic import()', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => join(e.parentPath, e.name));
    const dynamic: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(
        /^\s*(import|export)\s+(type\s+)?[^;]*?from\s+['"](@opentelemetry\/(sdk-logs|exporter-logs-otlp-proto))['"]/gm,
      )) {
        expect(match[2], `${relative(root, file)}: static import of ${match[3]}`).toBe('type ');
      }
      if (/import\(\s*['"]@opentelemetry\/sdk-logs['"]\s*\)/.test(text)) dynamic.push(relative(root, file));
    }
    expect(dynamic).toEqual(['telemetry/events.ts']);
  });
});
