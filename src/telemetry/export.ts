/**
 * The OTLP/HTTP protobuf export pipeline, built from the SDK components `@opentelemetry/sdk-node` would
 * assemble (sdk-metrics `MeterProvider` + `PeriodicExportingMetricReader`, the proto exporters), but wired by hand and never registered globally:
 * `NodeSDK` reads `process.env` itself, installs a global context manager and propagator, starts an OTLP
 * log exporter by default and cannot be instantiated twice in one process. llmtap's own HTTP is therefore
 * never traced (no instrumentation is loaded), settings come only from the env handed in, and every
 * queue is bounded with its drops counted. Spans do not go through the SDK's tracer and BatchSpanProcessor: a call's
 * span is llmtap's own (`call-span.ts`), encoded to protobuf when it ends (`span-processor.ts`, #15). (sdk-node is not a dependency: importing it
 * alone costs ~44 MB of RSS and ~75 packages, #15.)
 */
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { Resource } from '@opentelemetry/resources';
import {
  type AggregationTemporality,
  type InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { SpanStarter, samplingPolicy } from './call-span.ts';
import type { SignalExport, TelemetrySettings, Temporality } from './env.ts';
import { createInstruments, type Instruments } from './metrics.ts';
import { SCOPE_NAME, SEMCONV_SCHEMA_URL } from './semconv.ts';
import { createSpanExporter } from './span-exporter.ts';
import { EncodingSpanProcessor, MAX_QUEUE_BYTES } from './span-processor.ts';

export type Signal = 'traces' | 'metrics' | 'logs';
export type DropReason = 'queue_full' | 'export_failed';
export type DropListener = (signal: Signal, reason: DropReason, count: number) => void;

export interface ExportPipeline {
  /** undefined when traces are not exported: then no span is created at all. */
  readonly spans: SpanStarter | undefined;
  /** undefined when metrics are not exported: then nothing is aggregated at all. */
  readonly metrics: Instruments | undefined;
  shutdown(timeoutMs: number): Promise<void>;
}

type MetricExporterOptions = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

const exporterOptions = (signal: SignalExport): MetricExporterOptions => ({
  url: signal.url,
  headers: { ...signal.headers },
  // The SDK's CompressionAlgorithm enum has exactly these string values.
  compression: signal.compression as NonNullable<MetricExporterOptions['compression']>,
  timeoutMillis: signal.timeoutMs,
});

const temporalityPreference = (t: Temporality): NonNullable<MetricExporterOptions['temporalityPreference']> =>
  // AggregationTemporalityPreference: DELTA = 0, CUMULATIVE = 1, LOWMEMORY = 2 (a non-exported enum).
  (t === 'delta' ? 0 : t === 'cumulative' ? 1 : 2) as NonNullable<
    MetricExporterOptions['temporalityPreference']
  >;

const countDataPoints = (metrics: ResourceMetrics): number => {
  let n = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) n += metric.dataPoints.length;
  return n;
};

/** Counts metric data points lost to failed exports (with delta temporality they are gone for good). */
class CountingMetricExporter implements PushMetricExporter {
  readonly #inner: OTLPMetricExporter;
  readonly #onDrop: DropListener;
  constructor(inner: OTLPMetricExporter, onDrop: DropListener) {
    this.#inner = inner;
    this.#onDrop = onDrop;
  }
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(metrics, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.#onDrop('metrics', 'export_failed', countDataPoints(metrics));
      }
      resultCallback(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.#inner.selectAggregationTemporality(instrumentType);
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** Waits for `work` (its failure ignored) at most `ms`. */
export const withDeadline = async (work: Promise<unknown>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
    timer.unref();
  });
  try {
    await Promise.race([
      work.then(
        () => undefined,
        () => undefined,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
};

export const createExportPipeline = (
  settings: TelemetrySettings,
  resource: Resource,
  version: string,
  onDrop: DropListener,
): ExportPipeline => {
  let meterProvider: MeterProvider | undefined;
  let metrics: Instruments | undefined;
  if (settings.metrics !== undefined) {
    const exporter = new CountingMetricExporter(
      new OTLPMetricExporter({
        ...exporterOptions(settings.metrics),
        temporalityPreference: temporalityPreference(settings.temporality),
      }),
      onDrop,
    );
    metrics = createInstruments({ name: SCOPE_NAME, version, schemaUrl: SEMCONV_SCHEMA_URL }, (type) =>
      exporter.selectAggregationTemporality(type),
    );
    // The provider only binds the reader (and gives it the resource); every llmtap metric comes from
    // the pre-bound streams of `metrics`, handed to the reader as a metric producer.
    meterProvider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: settings.metricIntervalMs,
          exportTimeoutMillis: settings.metricTimeoutMs,
          metricProducers: [metrics],
        }),
      ],
    });
  }

  let processor: EncodingSpanProcessor | undefined;
  let spans: SpanStarter | undefined;
  if (settings.traces !== undefined) {
    processor = new EncodingSpanProcessor(
      createSpanExporter(exporterOptions(settings.traces)),
      { ...settings.bsp, maxQueueBytes: MAX_QUEUE_BYTES },
      onDrop,
    );
    // The SDK tracer's span limits (128 attributes): content attributes are truncated by llmtap itself;
    // the value length limit caps anything else an app could inflate.
    spans = new SpanStarter(
      samplingPolicy(settings.sampler, settings.samplerRatio),
      { attributeValueLengthLimit: Math.max(settings.maxContentChars + 64, 4096) },
      processor,
      resource,
      { name: SCOPE_NAME, version, schemaUrl: SEMCONV_SCHEMA_URL },
    );
  }

  return {
    spans,
    metrics,
    async shutdown(timeoutMs) {
      const until = Date.now() + timeoutMs;
      // Spans first: a failed final span export still moves the drop counter before the last metric export.
      if (processor !== undefined) await withDeadline(processor.shutdown(), until - Date.now());
      if (meterProvider !== undefined) await withDeadline(meterProvider.shutdown(), until - Date.now());
    },
  };
};
