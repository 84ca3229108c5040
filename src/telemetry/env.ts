/**
 * The telemetry settings, read once from the environment the composition root hands in (never from
 * `process.env` directly) and validated with zod. Names and defaults follow the OTel SDK environment
 * specification: https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 *
 * Size: one table of OTEL_* variables with their parsers and defaults, a few lines each.
 */
// zod/mini: the classic API would pull all of zod into the start-up graph (src/config/zod-messages.ts).
import * as z from 'zod/mini';
import { TelemetryConfigError } from './errors.ts';
import type { PodIdentityInput } from './resource.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type Temporality = 'delta' | 'cumulative' | 'lowmemory';
export type Compression = 'gzip' | 'none';
/** The `OTEL_TRACES_SAMPLER` values llmtap implements (the SDK's built-in samplers). */
export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** One signal's OTLP/HTTP exporter settings. */
export interface SignalExport {
  readonly url: string;
  /** May carry credentials (`Authorization=Api-Token …`): never log these. */
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: Compression;
  readonly timeoutMs: number;
}

/** A batch processor's bounds (spans: `OTEL_BSP_*`, log records: `OTEL_BLRP_*`). */
export interface BatchBounds {
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

/** Every telemetry setting; the pod-identity part (service name, resource attributes, k8s) is the resource's input. */
export interface TelemetrySettings extends PodIdentityInput {
  readonly disabled: boolean;
  /** undefined when no endpoint is configured for the signal or its exporter is `none`. */
  readonly traces: SignalExport | undefined;
  readonly metrics: SignalExport | undefined;
  /** GenAI events as OTLP log records; undefined unless content capture asks for events (and an endpoint). */
  readonly logs: SignalExport | undefined;
  /** The batch log record processor's bounds (`OTEL_BLRP_*`). */
  readonly blrp: BatchBounds;
  readonly sampler: SamplerName;
  readonly samplerRatio: number;
  readonly temporality: Temporality;
  readonly metricIntervalMs: number;
  readonly metricTimeoutMs: number;
  /** The batch span processor's bounds (`OTEL_BSP_*`). */
  readonly bsp: BatchBounds;
  readonly captureContent: boolean;
  /** `EVENT_ONLY` / `SPAN_AND_EVENT`: emit the GenAI events (content included) as OTLP log records. */
  readonly captureEvents: boolean;
  /** Characters per content attribute (JSON text) before truncation. */
  readonly maxContentChars: number;
  readonly podinfoDir: string;
  readonly pricesFile: string | undefined;
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
  schema: z.core.$ZodType<T>,
  env: Env,
  name: string,
  fallback: F,
  allowed: string,
): T | F => {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const result = z.safeParse(schema, raw);
  return result.success ? result.data : fail(name, raw, allowed);
};

/** A number from text, an integer in [min, max]. */
const intText = (min: number, max: number) =>
  z.pipe(z.coerce.number(), z.int().check(z.gte(min), z.lte(max)));
/** One of `values`, case-insensitive. */
const oneOfText = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((v: string) => v.toLowerCase()),
    ),
    z.enum(values),
  );

const millis = intText(1, 3_600_000);
const count = intText(1, 1_000_000);
const bool = z.pipe(
  oneOfText(['true', 'false']),
  z.transform((v: 'true' | 'false') => v === 'true'),
);

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

/** RFC 9110 token: what an HTTP header name may contain. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters (CR, LF, NUL…; tab is allowed) would split or corrupt the request's header block. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const headerControl = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Header names and values an HTTP request can carry; the message names the variable, never the value. */
const checkHeaders = (headers: Record<string, string>, name: string): void => {
  for (const [key, value] of Object.entries(headers)) {
    if (!headerName.test(key))
      fail(name, undefined, "header names made of letters, digits and -._~!#$%&'*+^`|", true);
    if (headerControl.test(value)) {
      fail(
        name,
        undefined,
        `the value of ${JSON.stringify(key)} without line breaks or control characters`,
        true,
      );
    }
  }
};

const signalPaths = { TRACES: 'v1/traces', METRICS: 'v1/metrics', LOGS: 'v1/logs' } as const;

const signalExport = (
  env: Env,
  signal: 'TRACES' | 'METRICS' | 'LOGS',
  warnings: string[],
): SignalExport | undefined => {
  const exporterVar = `OTEL_${signal}_EXPORTER`;
  const exporters = (nonEmpty(env[exporterVar]) ?? 'otlp').toLowerCase().split(',');
  if (exporters.includes('none')) return undefined;
  const unsupported = exporters.map((e) => e.trim()).filter((e) => e !== 'otlp');
  if (unsupported.length > 0)
    warnings.push(`${exporterVar}: only "otlp" and "none" are supported; using otlp`);

  const path = signalPaths[signal];
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
  const generalHeaders = parseKeyValueList(
    env.OTEL_EXPORTER_OTLP_HEADERS,
    'OTEL_EXPORTER_OTLP_HEADERS',
    true,
  );
  checkHeaders(generalHeaders, 'OTEL_EXPORTER_OTLP_HEADERS');
  const signalHeaders = parseKeyValueList(
    env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`],
    `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
    true,
  );
  checkHeaders(signalHeaders, `OTEL_EXPORTER_OTLP_${signal}_HEADERS`);
  const headers = { ...generalHeaders, ...signalHeaders };
  return { url: checked.data ?? url, headers, compression, timeoutMs };
};

const samplerSchema = oneOfText(SAMPLER_NAMES);

/**
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: the boolean form (OTel JS, Elastic) and the
 * enum form of `opentelemetry-util-genai` are both accepted; content goes on spans (`true`, `SPAN_ONLY`), on
 * GenAI events sent as OTLP log records (`EVENT_ONLY`), or both (`SPAN_AND_EVENT`).
 */
const captureValues = ['true', 'false', 'no_content', 'span_only', 'event_only', 'span_and_event'] as const;
const captureSchema = z.pipe(
  oneOfText(captureValues),
  z.transform((v: (typeof captureValues)[number]) => ({
    spans: v === 'true' || v === 'span_only' || v === 'span_and_event',
    events: v === 'event_only' || v === 'span_and_event',
  })),
);

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
    z.coerce.number().check(z.gte(0), z.lte(1)),
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
  const capture = parseWith(
    captureSchema,
    env,
    'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
    { spans: false, events: false },
    'true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT',
  );
  const blrpQueue = parseWith(count, env, 'OTEL_BLRP_MAX_QUEUE_SIZE', 2048, 'a positive integer');
  return {
    disabled,
    traces: disabled ? undefined : signalExport(env, 'TRACES', warnings),
    metrics: disabled ? undefined : signalExport(env, 'METRICS', warnings),
    // Logs carry only the GenAI events, so without events there is no log signal at all.
    logs: disabled || !capture.events ? undefined : signalExport(env, 'LOGS', warnings),
    blrp: {
      scheduleDelayMs: parseWith(millis, env, 'OTEL_BLRP_SCHEDULE_DELAY', 1000, 'milliseconds'),
      exportTimeoutMs: parseWith(millis, env, 'OTEL_BLRP_EXPORT_TIMEOUT', 30_000, 'milliseconds'),
      maxQueueSize: blrpQueue,
      maxExportBatchSize: Math.min(
        parseWith(count, env, 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', 512, 'a positive integer'),
        blrpQueue,
      ),
    },
    sampler: parseWith(
      samplerSchema,
      env,
      'OTEL_TRACES_SAMPLER',
      'parentbased_always_on',
      'always_on, always_off, traceidratio or their parentbased_ forms',
    ),
    samplerRatio: ratio,
    temporality: parseWith(
      oneOfText(['delta', 'cumulative', 'lowmemory']),
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
    captureContent: capture.spans,
    captureEvents: capture.events,
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
