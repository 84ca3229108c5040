/**
 * The OTLP/HTTP protobuf span exporter. `@opentelemetry/exporter-trace-otlp-proto`'s `OTLPTraceExporter` is
 * exactly `createOtlpHttpExportDelegate(…, ProtobufTraceSerializer, …)` from its own two dependencies; this
 * assembles the same parts with the same options (its config type) and adds one step after serialization
 * that gives double-typed semconv attributes their `double_value` (see `double-attributes.ts`), which the
 * class offers no way to do. Batches are serialized in slices between event-loop turns (`sliced-encoding.ts`)
 * before the delegate sends them, so one export never blocks forwarding for more than ~1 ms (#15).
 */

import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExporterMetricsHelper,
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { DOUBLE_ATTRIBUTES, hasIntegralDoubles, retypeIntegralDoubles } from './double-attributes.ts';
import { DEFAULT_SLICES, encodeInSlices, type SliceOptions } from './sliced-encoding.ts';

/** Same value the SDK's exporter reports as `otel.component.type`. */
const COMPONENT_TYPE = 'otlp_http_span_exporter';

export const typedTraceSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest(spans) {
    const bytes = ProtobufTraceSerializer.serializeRequest(spans);
    if (bytes === undefined || !hasIntegralDoubles(spans)) return bytes;
    return retypeIntegralDoubles(bytes, DOUBLE_ATTRIBUTES);
  },
  deserializeResponse(data) {
    return ProtobufTraceSerializer.deserializeResponse(data);
  },
};

export type SpanExporterOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** A batch already serialized (in slices), with its span count for the exporter's own bookkeeping. */
interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

const encodedSerializer: ISerializer<EncodedBatch, IExportTraceServiceResponse> = {
  serializeRequest: (batch) => batch.bytes,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};
const encodedMetrics: IExporterMetricsHelper<EncodedBatch> = {
  ...TraceExporterMetricsHelper,
  countItems: (batch) => batch.spans,
};

/** Serializes in slices, then hands the bytes to the SDK's HTTP export delegate (retries, timeouts, queue). */
class SlicedSpanExporter implements SpanExporter {
  readonly #inner: OTLPExporterBase<EncodedBatch>;
  readonly #slices: SliceOptions;
  readonly #encoding = new Set<Promise<unknown>>();
  constructor(inner: OTLPExporterBase<EncodedBatch>, slices: SliceOptions) {
    this.#inner = inner;
    this.#slices = slices;
  }
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const work: Promise<void> = this.#send(spans, resultCallback)
      .catch(() => undefined)
      .finally(() => this.#encoding.delete(work));
    this.#encoding.add(work);
  }
  async #send(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): Promise<void> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await encodeInSlices(spans, (s) => typedTraceSerializer.serializeRequest(s), this.#slices);
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
      return;
    }
    if (bytes === undefined) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('Nothing to send') });
      return;
    }
    this.#inner.export({ bytes, spans: spans.length }, resultCallback);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.#encoding);
    await this.#inner.forceFlush();
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.#encoding);
    await this.#inner.shutdown();
  }
}

export const createSpanExporter = (
  config: SpanExporterOptions,
  slices: SliceOptions = DEFAULT_SLICES,
): SpanExporter =>
  new SlicedSpanExporter(
    new OTLPExporterBase<EncodedBatch>(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        encodedSerializer,
        COMPONENT_TYPE,
        encodedMetrics,
        undefined,
      ),
    ),
    slices,
  );
