/**
 * Telemetry: every finished LLM call becomes one CLIENT span (a child of the app's trace when the request
 * carried W3C trace context), GenAI metrics with DELTA temporality, a cost, and the fields of the
 * request's log line. Export is OTLP/HTTP protobuf and never blocks the caller: `finish()` only records
 * into bounded in-memory queues.
 *
 * Size: the pipeline's composition (span, metrics, events, pricing, log fields); each part has its own file.
 */
import { hostname } from 'node:os';
import { type Attributes, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { CallObservation, CallObserver, SessionObservation, TelemetryStage } from '../call-observer.ts';
import type { SemconvCompat } from '../config/schema.ts';
import type { LogFields, Logger } from '../log.ts';
import type { CallContext } from '../proxy/tap.ts';
import type { LlmCall } from '../record.ts';
import { redactText, redactUrl } from '../redact.ts';
import { contentAttributes, errorTypeOf, spanAttributes, spanName, timeToFirstChunk } from './attributes.ts';
import type { CallSpan, SpanStarter } from './call-span.ts';
import { type Env, readSettings, type TelemetrySettings } from './env.ts';
import { createEventPipeline, type EventPipeline } from './events.ts';
import { createExportPipeline, type ExportPipeline, withDeadline } from './export.ts';
import { flattenedContentAttributes, legacyAttributes } from './legacy.ts';
import { type Instruments, OutputChunkGaps } from './metrics.ts';
import { readPodInfo } from './podinfo.ts';
import { type CostResult, createPricer, loadPriceTable, type Pricer } from './pricing.ts';
import { createPrometheusView, type PrometheusView } from './prometheus.ts';
import { podIdentity } from './resource.ts';
import { safetySpanAttributes } from './safety.ts';
import { ATTR, SCOPE_NAME, SEMCONV_SCHEMA_URL } from './semconv.ts';

export { TelemetryConfigError } from './errors.ts';

export interface TelemetryOptions {
  /** The process environment (the composition root passes `process.env`). */
  readonly env: Env;
  readonly logger: Logger;
  /** llmtap's version, for the instrumentation scope. */
  readonly version: string;
  /**
   * Characters per content attribute (JSON text), a backstop above the adapters' own `limits.maxCapturedChars` cut
   * (the composition root passes twice that, at least 16384, the default).
   */
  readonly maxContentChars?: number | undefined;
  /** Upper bound on `shutdown()`; default 5000 ms. */
  readonly shutdownTimeoutMs?: number | undefined;
  /** `LLMTAP_SEMCONV_COMPAT` (validated by the config loader); default `off`. */
  readonly semconvCompat?: SemconvCompat | undefined;
}

export interface Telemetry extends CallObserver {
  /** A session span (realtime WebSocket) whose calls become its children. */
  openSession(context: CallContext): SessionObservation;
  /** Counts a failure in a telemetry stage (`llmtap.telemetry.errors`) and warns, rate-limited. */
  recordError(stage: TelemetryStage, error: unknown): void;
  /** Flushes spans and metrics, bounded by the shutdown timeout. Idempotent. */
  shutdown(): Promise<void>;
  /** One line for the start-up banner: where telemetry goes. */
  describe(): string;
  /** Whether content is captured: for spans (`true`, `SPAN_ONLY`, `SPAN_AND_EVENT`) or events (`EVENT_ONLY`). */
  readonly captureContent: boolean;
  readonly priceTableVersion: string;
  /** The GenAI metrics as Prometheus text (cumulative), for `GET /metrics`; undefined when export is disabled. */
  readonly prometheusText: (() => Promise<string>) | undefined;
}

const errorName = (error: unknown): string => {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (error instanceof Error) return error.name;
  }
  return typeof error;
};

const msOrUndefined = (seconds: number | undefined): number | undefined =>
  seconds === undefined ? undefined : Math.round(seconds * 1e6) / 1e3;

/**
 * The request's log-line fields: what a developer running `npm start` sees for each call. The proxy's line
 * already has method, route, status, duration and bytes; these add the call's GenAI facts.
 */
const logFieldsOf = (
  call: LlmCall,
  errorType: string | undefined,
  cost: CostResult | undefined,
  traceId: string | undefined,
): LogFields => {
  const { usage } = call.response;
  return {
    provider: call.provider,
    operation: call.request.operation,
    model: call.request.requestModel,
    responseModel: call.response.responseModel,
    stream: call.request.stream,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheReadTokens: usage.cacheReadInputTokens,
    cacheWriteTokens: usage.cacheCreationInputTokens,
    reasoningTokens: usage.reasoningOutputTokens,
    costUsd: cost?.priced === true ? cost.cost : undefined,
    ttfcMs: msOrUndefined(timeToFirstChunk(call)),
    outcome: call.outcome,
    errorType,
    safety: safetyLogField(call),
    traceId,
  };
};

/** `content_filter/input`, `guardrail/output`…: what a provider blocked, for the request's log line. */
const safetyLogField = (call: LlmCall): string | undefined => {
  const block = call.response.safety?.block;
  if (block !== undefined) return `${block.reason}/${block.stage}`;
  return call.response.safety?.guardrail?.activated === true ? 'guardrail_activated' : undefined;
};

const describeSettings = (settings: TelemetrySettings): string => {
  if (settings.disabled) return 'disabled (OTEL_SDK_DISABLED): exporting nothing';
  const parts: string[] = [];
  if (settings.traces !== undefined) parts.push(`traces → ${redactUrl(settings.traces.url)}`);
  if (settings.metrics !== undefined) {
    parts.push(
      `metrics → ${redactUrl(settings.metrics.url)} (${settings.temporality}, every ${settings.metricIntervalMs / 1000} s)`,
    );
  }
  if (settings.logs !== undefined) parts.push(`GenAI events → ${redactUrl(settings.logs.url)}`);
  if (parts.length === 0) return 'no OTLP endpoint configured: exporting nothing';
  const content =
    settings.captureContent || settings.captureEvents
      ? `message content ON (${[settings.captureContent && 'spans', settings.captureEvents && 'events'].filter(Boolean).join(', ')})`
      : 'message content off';
  return `OTLP/HTTP protobuf: ${parts.join('; ')}; ${content}`;
};

type FinishCall = (
  call: LlmCall,
  span: CallSpan | undefined,
  chunkGaps: OutputChunkGaps | undefined,
  withMetrics: boolean,
  withEvents: boolean,
) => LogFields | undefined;

/**
 * One call's observation: its span (if any), its chunk gaps and how it is finished. A class rather than an object
 * with closures (#15: per-call garbage is GC work at load); `outputChunk` is absent when nothing wants it.
 */
class TelemetryObservation implements CallObservation {
  readonly upstreamHeaders: Readonly<Record<string, string>> | undefined;
  readonly outputChunk: ((at: number) => void) | undefined;
  readonly #finish: FinishCall;
  readonly #span: CallSpan | undefined;
  readonly #chunkGaps: OutputChunkGaps | undefined;
  readonly #withMetrics: boolean;
  readonly #withEvents: boolean;

  constructor(
    finish: FinishCall,
    started: { span: CallSpan; headers: Record<string, string> } | undefined,
    chunkGaps: OutputChunkGaps | undefined,
    withMetrics: boolean,
    withEvents: boolean,
  ) {
    this.#finish = finish;
    this.#span = started?.span;
    this.upstreamHeaders = started?.headers;
    this.#chunkGaps = chunkGaps;
    this.outputChunk = chunkGaps?.chunk;
    this.#withMetrics = withMetrics;
    this.#withEvents = withEvents;
  }

  finish(call: LlmCall): LogFields | undefined {
    return this.#finish(call, this.#span, this.#chunkGaps, this.#withMetrics, this.#withEvents);
  }
}

/** Builds the telemetry pipeline from the environment; throws `TelemetryConfigError` on bad settings. */
export const createTelemetry = async (options: TelemetryOptions): Promise<Telemetry> => {
  const { logger, version } = options;
  const settings = readSettings(options.env, {
    maxContentChars: options.maxContentChars,
  });
  for (const warning of settings.warnings) logger.warn(warning);
  const pricer: Pricer = createPricer(await loadPriceTable(settings.pricesFile));

  let pipeline: ExportPipeline | undefined;
  let events: EventPipeline | undefined;
  /** Every set of instruments a call is recorded into: OTLP's (delta by default), Prometheus's (cumulative). */
  const metricSets: Instruments[] = [];
  const onDrop = (signal: string, reason: string, count: number): void => {
    for (const metrics of metricSets) metrics.recordDrop(signal, reason, count);
    logger.warnRateLimited(`telemetry-drop:${signal}:${reason}`, 'telemetry dropped', {
      signal,
      reason,
      count,
    });
  };
  let resource: Promise<Resource> | undefined;
  const resourceOnce = (): Promise<Resource> => {
    resource ??= (async () => {
      const pod = await readPodInfo(settings.podinfoDir);
      const attributes = podIdentity(settings, pod, hostname());
      logger.debug('telemetry resource', { serviceName: attributes['service.name'], podinfo: pod.found });
      return defaultResource().merge(resourceFromAttributes(attributes));
    })();
    return resource;
  };
  if (settings.traces !== undefined || settings.metrics !== undefined || settings.logs !== undefined) {
    const resource = await resourceOnce();
    pipeline = createExportPipeline(settings, resource, version, onDrop);
    events = await createEventPipeline(settings, resource, version, onDrop);
  } else if (!settings.disabled) {
    logger.info('no OTLP endpoint configured: exporting nothing (set OTEL_EXPORTER_OTLP_ENDPOINT)');
  }
  const spans: SpanStarter | undefined = pipeline?.spans;
  if (pipeline?.metrics !== undefined) metricSets.push(pipeline.metrics);
  let prometheus: PrometheusView | undefined;
  if (!settings.disabled) {
    prometheus = createPrometheusView(
      { name: SCOPE_NAME, version, schemaUrl: SEMCONV_SCHEMA_URL },
      resourceOnce,
    );
    metricSets.push(prometheus.instruments);
  }

  const recordError = (stage: TelemetryStage, error: unknown): void => {
    try {
      for (const metrics of metricSets) metrics.recordError(stage);
      logger.warnRateLimited(`telemetry-error:${stage}`, 'telemetry stage failed; traffic unaffected', {
        stage,
        error: errorName(error),
        detail: error instanceof Error ? redactText(error.message).slice(0, 200) : undefined,
      });
    } catch {
      // Reporting a telemetry failure must never become a failure of its own.
    }
  };

  const compat = options.semconvCompat ?? 'off';
  const finishCall = (
    call: LlmCall,
    span: CallSpan | undefined,
    chunkGaps: OutputChunkGaps | undefined,
    withMetrics: boolean,
    withEvents = true,
  ): LogFields | undefined => {
    const errorType = errorTypeOf(call);
    let cost: CostResult | undefined;
    try {
      cost = pricer.price(call);
    } catch (error) {
      recordError('pricing', error);
    }
    let traceId: string | undefined;
    let attributes: Attributes | undefined;
    const eventsOut = withEvents ? events : undefined;
    if (span !== undefined || eventsOut !== undefined) {
      try {
        attributes = spanAttributes(
          call,
          errorType,
          cost?.priced === true ? cost.cost : undefined,
          pricer.version,
        );
      } catch (error) {
        recordError('export', error);
      }
    }
    if (span !== undefined) {
      try {
        if (attributes !== undefined) {
          span.setAttributes(attributes);
          if (compat !== 'off')
            span.setAttributes(legacyAttributes(call, String(attributes[ATTR.providerName])));
        }
        if (call.response.safety !== undefined)
          span.setAttributes(safetySpanAttributes(call.response.safety));
        if (settings.captureContent) {
          span.setAttributes(contentAttributes(call.content, settings.maxContentChars));
          if (compat === 'openllmetry-content') {
            span.setAttributes(flattenedContentAttributes(call.content, settings.maxContentChars));
          }
        }
        span.updateName(spanName(call));
        if (errorType !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        const context = span.spanContext();
        if ((context.traceFlags & 1) === 1) traceId = context.traceId;
        span.end(call.timing.end);
      } catch (error) {
        recordError('export', error);
      }
    }
    // `spans` routes: the app's SDK emits the metrics (OTLP and Prometheus alike would double count).
    if (withMetrics) {
      for (const metrics of metricSets) {
        try {
          metrics.record(call, errorType, cost, chunkGaps);
        } catch (error) {
          recordError('export', error);
        }
      }
    }
    if (eventsOut !== undefined && attributes !== undefined) {
      try {
        eventsOut.emit(
          call,
          span === undefined ? undefined : trace.setSpanContext(ROOT_CONTEXT, span.spanContext()),
          errorType,
          attributes,
        );
      } catch (error) {
        recordError('export', error);
      }
    }
    return logFieldsOf(call, errorType, cost, traceId);
  };

  const peer: { url: URL | undefined; address: string; port: number } = {
    url: undefined,
    address: '',
    port: 0,
  };
  const startSpan = (
    context: CallContext,
  ): { span: CallSpan; headers: Record<string, string> } | undefined => {
    if (spans === undefined) return undefined;
    const url = context.upstreamUrl;
    // A route's upstream URL is one object for its life: its address and port are read once (#15).
    if (url !== peer.url) {
      peer.url = url;
      peer.port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      peer.address = url.hostname.replace(/^\[|\]$/g, '');
    }
    // Sampling-relevant attributes known before the body is read; the rest are set by finish().
    const attributes: Record<string, string | number> = {
      [ATTR.serverAddress]: peer.address,
      [ATTR.serverPort]: peer.port,
    };
    if (context.route.providerName !== undefined) attributes[ATTR.providerName] = context.route.providerName;
    return spans.start(context.requestHeaders, {
      name: context.route.provider,
      startTime: context.start,
      attributes,
    });
  };

  const finishOne: FinishCall = (call, span, chunkGaps, withMetrics, withEvents) => {
    try {
      return finishCall(call, span, chunkGaps, withMetrics, withEvents);
    } catch (error) {
      recordError('observer', error);
      return undefined;
    }
  };

  let shuttingDown: Promise<void> | undefined;
  return {
    captureContent: settings.captureContent || settings.captureEvents,
    priceTableVersion: pricer.version,
    prometheusText: prometheus?.text,
    start(context: CallContext): CallObservation {
      // `metrics`: the app's SDK makes the span, and its traceparent goes upstream untouched; `spans`: the app's
      // SDK emits the metrics. (`off` routes never reach telemetry: they get no tap.)
      const mode = context.route.mode ?? 'full';
      let started: ReturnType<typeof startSpan>;
      try {
        if (mode !== 'metrics') started = startSpan(context);
      } catch (error) {
        recordError('observer', error);
      }
      const withMetrics = mode !== 'spans';
      const chunkGaps = metricSets.length === 0 || !withMetrics ? undefined : new OutputChunkGaps();
      // Events belong with the span: in `metrics` mode the app's own SDK emits both.
      return new TelemetryObservation(finishOne, started, chunkGaps, withMetrics, mode !== 'metrics');
    },
    openSession(context: CallContext): SessionObservation {
      let started: ReturnType<typeof startSpan>;
      try {
        if ((context.route.mode ?? 'full') !== 'metrics') started = startSpan(context);
      } catch (error) {
        recordError('observer', error);
      }
      const span = started?.span;
      return {
        upstreamHeaders: started?.headers,
        end: (summary) => {
          if (span === undefined) return;
          try {
            span.setAttributes(summary.attributes);
            span.updateName(summary.name);
            if (summary.errorType !== undefined)
              span.setStatus({ code: SpanStatusCode.ERROR, message: summary.errorType });
            span.end(summary.at);
          } catch (error) {
            recordError('export', error);
          }
        },
      };
    },
    recordError,
    describe: () => describeSettings(settings),
    shutdown() {
      const timeoutMs = options.shutdownTimeoutMs ?? 5000;
      shuttingDown ??= Promise.all([
        pipeline?.shutdown(timeoutMs),
        events === undefined ? undefined : withDeadline(events.shutdown(timeoutMs), timeoutMs),
      ]).then(() => undefined);
      return shuttingDown;
    },
  };
};
