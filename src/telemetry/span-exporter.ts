/**
 * The OTLP/HTTP protobuf span exporter. `@opentelemetry/exporter-trace-otlp-proto`'s `OTLPTraceExporter` is
 * exactly `createOtlpHttpExportDelegate(…, ProtobufTraceSerializer, …)` from its own two dependencies; this
 * assembles the same parts with the same options (its config type) and adds one step after serialization
 * that gives double-typed semconv attributes their `double_value` (see `double-attributes.ts`), which the
 * class offers no way to do.
 */
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { DOUBLE_ATTRIBUTES, hasIntegralDoubles, retypeIntegralDoubles } from './double-attributes.ts';

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

export const createSpanExporter = (config: SpanExporterOptions): SpanExporter =>
  new OTLPExporterBase<ReadableSpan[]>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
      typedTraceSerializer,
      COMPONENT_TYPE,
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
