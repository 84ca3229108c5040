/**
 * The OTLP/HTTP protobuf span exporter for request bodies that are already encoded (`span-processor.ts`).
 * The SDK's `OTLPTraceExporter` (`@opentelemetry/exporter-trace-otlp-proto`) is exactly
 * `createOtlpHttpExportDelegate(…, ProtobufTraceSerializer, …)`; this assembles the same delegate with the
 * same options (URL, headers, compression, timeout; its retries and concurrency limit) and a serializer that
 * passes the bytes through.
 */

import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  type OTLPExporterNodeConfigBase,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExporterMetricsHelper,
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { EncodedBatch } from './span-processor.ts';

/** Same value the SDK's exporter reports as `otel.component.type`. */
const COMPONENT_TYPE = 'otlp_http_span_exporter';

const encodedSerializer: ISerializer<EncodedBatch, IExportTraceServiceResponse> = {
  serializeRequest: (batch) => batch.bytes,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};
const encodedMetrics: IExporterMetricsHelper<EncodedBatch> = {
  ...TraceExporterMetricsHelper,
  countItems: (batch) => batch.spans,
};

export const createSpanExporter = (config: OTLPExporterNodeConfigBase): OTLPExporterBase<EncodedBatch> =>
  new OTLPExporterBase<EncodedBatch>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
      encodedSerializer,
      COMPONENT_TYPE,
      encodedMetrics,
      undefined,
    ),
  );
