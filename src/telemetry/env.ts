/**
 * The telemetry settings, read once from the environment the composition root hands in (never from
 * `process.env` directly) and validated with zod. Names and defaults follow the OTel SDK environment
 * specification: https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
import { z } from 'zod';
import { TelemetryConfigError } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type Temporality = 'delta' | 'cumulative' | 'lowmemory';
export type Compression = 'gzip' | 'none';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** One signal's OTLP/HTTP exporter settings. */
export interface SignalExport {
  readonly url: string;
  /** May carry credentials (`Authorization=Api-Token …`): never log these. */
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: Compression;
  readonly timeoutMs: number;
}

export interface TelemetrySettings {
  readonly disabled: boolean;
  /** undefined when no endpoint is configured for the signal or its exporter is `none`. */
  readonly traces: SignalExport | undefined;
  readonly metrics: SignalExport | undefined;
  readonly sampler: SamplerName;
  readonly samplerRatio: number;
  readonly temporality: Temporality;
  readonly metricIntervalMs: number;
  readonly metricTimeoutMs: number;
  readonly bsp: {
    readonly scheduleDelayMs: number;
    readonly exportTimeoutMs: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
  };
  readonly captureContent: boolean;
  /** Characters per content attribute (JSON text) before truncation. */
  readonly maxContentChars: number;
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly podinfoDir: string;
  readonly pricesFile: string | undefined;
  readonly k8s: {
    readonly podName: string | undefined;
    readonly namespaceName: string | undefined;
    readonly podUid: string | undefined;
    readonly nodeName: string | undefined;
    readonly podIp: string | undefined;
  };
  /** Things worth one warning at start-up (unsupported protocol, exporter names). */
  readonly warnings: readonly string[];
}

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

const fail = (name: string, value: string | undefined, allowed: string, secret = false): never => {
  throw new TelemetryConfigError(
    'LLMTAP_TELEMETRY_ENV_INVALID',
    `${name}${secret ? '' : `=${JSON.stringify(value)}`} is invalid: expected ${allowed}`,
  );
};

const parseWith = <T, F>(
  schema: z.ZodType<T>,
  env: Env,
  name: string,
  fallback: F,
  allowed: string,
): T | F => {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const result = schema.safeParse(raw);
  return result.success ? result.data : fail(name, raw, allowed);
};

const millis = z.coerce.number().int().min(1).max(3_600_000);
const count = z.coerce.number().int().min(1).max(1_000_000);
const bool = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'false']))
  .transform((v) => v === 'true');

/**
 * The W3C-baggage-like `key=value,key2=value2` list used by `OTEL_RESOURCE_ATTRIBUTES` and
 * `OTEL_EXPORTER_OTLP_HEADERS`; values are percent-decoded.
 */
export const parseKeyValueList = (
  raw: string | undefined,
  name: string,
  secret: boolean,
): Record<string, string> => {
  const out: Record<string, string> = {};
  const text = nonEmpty(raw);
  if (text === undefined) return out;
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) fail(name, secret ? undefined : raw, 'a comma-separated list of key=value', secret);
    const key = item.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      return fail(name, secret ? undefined : raw, 'percent-encoded values', secret);
    }
    if (key === '') fail(name, secret ? undefined : raw, 'non-empty keys', secret);
    out[key] = value;
  }
  return out;
};

const signalExport = (
  env: Env,
  signal: 'TRACES' | 'METRICS',
  warnings: string[],
): SignalExport | undefined => {
  const exporterVar = `OTEL_${signal}_EXPORTER`;
  const exporters = (nonEmpty(env[exporterVar]) ?? 'otlp').toLowerCase().split(',');
  if (exporters.includes('none')) return undefined;
  const unsupported = exporters.map((e) => e.trim()).filter((e) => e !== 'otlp');
  if (unsupported.length > 0)
    warnings.push(`${exporterVar}: only "otlp" and "none" are supported; using otlp`);

  const path = signal === 'TRACES' ? 'v1/traces' : 'v1/metrics';
  const specific = nonEmpty(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
  const generic = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  let url: string | undefined;
  // The signal-specific endpoint is used as-is; the generic one gets the signal path appended (OTLP spec).
  if (specific !== undefined) url = specific;
  else if (generic !== undefined) url = `${generic.endsWith('/') ? generic : `${generic}/`}${path}`;
  if (url === undefined) return undefined;
  const checked = z.url({ protocol: /^https?$/ }).safeParse(url);
  if (!checked.success) {
    fail(
      specific !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT` : 'OTEL_EXPORTER_OTLP_ENDPOINT',
      specific ?? generic,
      'an http:// or https:// URL',
    );
  }

  const protocol =
    nonEmpty(env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`]) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (protocol !== undefined && protocol !== 'http/protobuf') {
    warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: llmtap exports http/protobuf only; using it`);
  }

  const compressionSchema = z.enum(['gzip', 'none']);
  const compression =
    parseWith(
      compressionSchema,
      env,
      `OTEL_EXPORTER_OTLP_${signal}_COMPRESSION`,
      undefined,
      'gzip or none',
    ) ?? parseWith(compressionSchema, env, 'OTEL_EXPORTER_OTLP_COMPRESSION', 'none', 'gzip or none');
  const timeoutMs =
    parseWith(millis, env, `OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`, undefined, 'milliseconds (1-3600000)') ??
    parseWith(millis, env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, 'milliseconds (1-3600000)');
  const headers = {
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', true),
    ...parseKeyValueList(
      env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`],
      `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
      true,
    ),
  };
  return { url: checked.data ?? url, headers, compression, timeoutMs };
};

const samplerSchema = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(
    z.enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ]),
  );

/**
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: the boolean form (OTel JS, Elastic) and the
 * enum form of `opentelemetry-util-genai` are both accepted; llmtap writes content only on spans.
 */
const captureSchema = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'false', 'no_content', 'span_only', 'event_only', 'span_and_event']))
  .transform((v) => v === 'true' || v === 'span_only' || v === 'span_and_event');

export interface SettingsOverrides {
  readonly disabled?: boolean | undefined;
  readonly maxContentChars?: number | undefined;
}

/** Reads and validates every telemetry setting; throws `TelemetryConfigError` naming the variable. */
export const readSettings = (env: Env, overrides: SettingsOverrides = {}): TelemetrySettings => {
  const warnings: string[] = [];
  const disabled =
    overrides.disabled === true || parseWith(bool, env, 'OTEL_SDK_DISABLED', false, 'true or false');
  const ratio = parseWith(
    z.coerce.number().min(0).max(1),
    env,
    'OTEL_TRACES_SAMPLER_ARG',
    1,
    'a number between 0 and 1',
  );
  const metricIntervalMs = parseWith(millis, env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000, 'milliseconds');
  const metricTimeoutMs = Math.min(
    parseWith(millis, env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000, 'milliseconds'),
    metricIntervalMs,
  );
  const maxQueueSize = parseWith(count, env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 'a positive integer');
  return {
    disabled,
    traces: disabled ? undefined : signalExport(env, 'TRACES', warnings),
    metrics: disabled ? undefined : signalExport(env, 'METRICS', warnings),
    sampler: parseWith(
      samplerSchema,
      env,
      'OTEL_TRACES_SAMPLER',
      'parentbased_always_on',
      'always_on, always_off, traceidratio or their parentbased_ forms',
    ),
    samplerRatio: ratio,
    temporality: parseWith(
      z
        .string()
        .transform((v) => v.toLowerCase())
        .pipe(z.enum(['delta', 'cumulative', 'lowmemory'])),
      env,
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      'delta',
      'delta, cumulative or lowmemory',
    ),
    metricIntervalMs,
    metricTimeoutMs,
    bsp: {
      scheduleDelayMs: parseWith(millis, env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 'milliseconds'),
      exportTimeoutMs: parseWith(millis, env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, 'milliseconds'),
      maxQueueSize,
      maxExportBatchSize: Math.min(
        parseWith(count, env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 'a positive integer'),
        maxQueueSize,
      ),
    },
    captureContent: parseWith(
      captureSchema,
      env,
      'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
      false,
      'true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT',
    ),
    // One knob with the adapters' capture cap (`limits.maxCapturedChars`), passed in by the composition root.
    maxContentChars: overrides.maxContentChars ?? 16_384,
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME),
    resourceAttributes: parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', false),
    podinfoDir: nonEmpty(env.LLMTAP_PODINFO_DIR) ?? '/etc/podinfo',
    pricesFile: nonEmpty(env.LLMTAP_PRICES),
    k8s: {
      podName: nonEmpty(env.K8S_POD_NAME),
      namespaceName: nonEmpty(env.K8S_NAMESPACE_NAME),
      podUid: nonEmpty(env.K8S_POD_UID),
      nodeName: nonEmpty(env.K8S_NODE_NAME),
      podIp: nonEmpty(env.K8S_POD_IP),
    },
    warnings: [...new Set(warnings)],
  };
};
