/**
 * An in-test OTLP/HTTP receiver on 127.0.0.1:0 that decodes the protobuf the real OTel exporters send
 * (`/v1/traces`, `/v1/metrics`, `/v1/logs`), gunzips when asked, and keeps every raw body so tests can grep the exact
 * exported bytes for secrets. The OTLP messages below are the subset of opentelemetry-proto v1
 * (common, resource, trace, metrics, logs) that llmtap emits, field numbers as in the upstream .proto files.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const otlpProto = `
syntax = "proto3";
package otlp;

message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4;
}
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11;
  uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0; SPAN_KIND_INTERNAL = 1; SPAN_KIND_SERVER = 2; SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4; SPAN_KIND_CONSUMER = 5;
  }
  message Event {
    fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4;
  }
  message Link {
    bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5; fixed32 flags = 6;
  }
}
message Status {
  string message = 2; StatusCode code = 3;
  enum StatusCode { STATUS_CODE_UNSET = 0; STATUS_CODE_OK = 1; STATUS_CODE_ERROR = 2; }
}

message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data {
    Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10;
    Summary summary = 11;
  }
  repeated KeyValue metadata = 12;
}
enum AggregationTemporality {
  AGGREGATION_TEMPORALITY_UNSPECIFIED = 0; AGGREGATION_TEMPORALITY_DELTA = 1; AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum {
  repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3;
}
message Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message ExponentialHistogram { repeated bytes data_points = 1; AggregationTemporality aggregation_temporality = 2; }
message Summary { repeated bytes data_points = 1; }
message NumberDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  repeated bytes exemplars = 5; uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4;
  optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  repeated bytes exemplars = 8; uint32 flags = 10; optional double min = 11; optional double max = 12;
}

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord {
  fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10;
  string event_name = 12;
}
`;

const root = protobuf.parse(otlpProto, { keepCase: true }).root;
const TraceRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('otlp.ExportMetricsServiceRequest');
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');

type Json = Record<string, unknown>;
export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;
export type Attrs = Record<string, AttributeValue>;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly name: string;
  readonly kind: string;
  /** Nanoseconds since the epoch. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Attrs;
  /** The OTLP `AnyValue` case each attribute arrived in (`int_value`, `double_value`, `string_value`…). */
  readonly attributeTypes: Record<string, string>;
  readonly status: { readonly code: string; readonly message: string };
  readonly resource: Attrs;
  readonly scope: { readonly name: string; readonly version: string };
  readonly schemaUrl: string;
}

export interface ReceivedPoint {
  readonly attributes: Attrs;
  readonly startNs: bigint;
  readonly timeNs: bigint;
  /** Sums: the value; histograms: undefined. */
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly type: 'sum' | 'histogram' | 'gauge' | 'exponential_histogram' | 'summary';
  readonly temporality: string | undefined;
  readonly monotonic: boolean | undefined;
  readonly points: ReceivedPoint[];
  readonly resource: Attrs;
  readonly scope: { readonly name: string; readonly version: string };
  /** Index of the export request this metric arrived in (0-based, per receiver). */
  readonly exportIndex: number;
}

/** A log attribute value: log records may carry maps (`kvlist_value`) as well. */
export type LogValue = string | number | boolean | LogValue[] | { [key: string]: LogValue } | undefined;

export interface ReceivedLogRecord {
  readonly eventName: string;
  readonly timeNs: bigint;
  readonly severityNumber: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Record<string, LogValue>;
  readonly resource: Attrs;
  readonly scope: { readonly name: string; readonly version: string };
}

export interface RawRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Bytes on the wire (compressed when the exporter compressed). */
  readonly wire: Buffer;
  /** The protobuf body after gunzip. */
  readonly body: Buffer;
}

const hex = (base64: unknown): string =>
  typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : '';

const anyValue = (value: Json | undefined): AttributeValue => {
  if (value === undefined) return undefined;
  if ('string_value' in value) return value.string_value as string;
  if ('bool_value' in value) return value.bool_value as boolean;
  if ('int_value' in value) return Number(value.int_value);
  if ('double_value' in value) return value.double_value as number;
  if ('array_value' in value) {
    const values = ((value.array_value as Json).values as Json[] | undefined) ?? [];
    return values.map((v) => anyValue(v));
  }
  return undefined;
};

const attrs = (list: unknown): Attrs => {
  const out: Attrs = {};
  for (const kv of (list as Json[] | undefined) ?? []) out[kv.key as string] = anyValue(kv.value as Json);
  return out;
};

const attrTypes = (list: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const kv of (list as Json[] | undefined) ?? []) {
    out[kv.key as string] = Object.keys((kv.value as Json | undefined) ?? {})[0] ?? 'empty';
  }
  return out;
};

const scopeOf = (scope: unknown): { name: string; version: string } => ({
  name: ((scope as Json | undefined)?.name as string | undefined) ?? '',
  version: ((scope as Json | undefined)?.version as string | undefined) ?? '',
});

const toObject = (type: protobuf.Type, body: Buffer): Json =>
  type.toObject(type.decode(body), { longs: String, enums: String, bytes: String, oneofs: false }) as Json;

/** A whole `ExportTraceServiceRequest` as protobufjs decodes it (every field; ids and bytes as base64). */
export const decodeTraceRequest = (body: Uint8Array): Json => toObject(TraceRequest, Buffer.from(body));

export const decodeSpans = (body: Buffer): ReceivedSpan[] => {
  const out: ReceivedSpan[] = [];
  for (const rs of (toObject(TraceRequest, body).resource_spans as Json[] | undefined) ?? []) {
    const resource = attrs((rs.resource as Json | undefined)?.attributes);
    for (const ss of (rs.scope_spans as Json[] | undefined) ?? []) {
      for (const span of (ss.spans as Json[] | undefined) ?? []) {
        const status = (span.status as Json | undefined) ?? {};
        out.push({
          traceId: hex(span.trace_id),
          spanId: hex(span.span_id),
          parentSpanId: hex(span.parent_span_id),
          traceState: (span.trace_state as string | undefined) ?? '',
          name: (span.name as string | undefined) ?? '',
          kind: (span.kind as string | undefined) ?? 'SPAN_KIND_UNSPECIFIED',
          startNs: BigInt((span.start_time_unix_nano as string | undefined) ?? '0'),
          endNs: BigInt((span.end_time_unix_nano as string | undefined) ?? '0'),
          attributes: attrs(span.attributes),
          attributeTypes: attrTypes(span.attributes),
          status: {
            code: (status.code as string | undefined) ?? 'STATUS_CODE_UNSET',
            message: (status.message as string | undefined) ?? '',
          },
          resource,
          scope: scopeOf(ss.scope),
          schemaUrl: (ss.schema_url as string | undefined) ?? '',
        });
      }
    }
  }
  return out;
};

const logValue = (value: Json | undefined): LogValue => {
  if (value === undefined) return undefined;
  if ('kvlist_value' in value) {
    const out: Record<string, LogValue> = {};
    for (const kv of ((value.kvlist_value as Json).values as Json[] | undefined) ?? [])
      out[kv.key as string] = logValue(kv.value as Json);
    return out;
  }
  if ('array_value' in value) {
    return (((value.array_value as Json).values as Json[] | undefined) ?? []).map((v) => logValue(v));
  }
  return anyValue(value);
};

export const decodeLogs = (body: Buffer): ReceivedLogRecord[] => {
  const out: ReceivedLogRecord[] = [];
  for (const rl of (toObject(LogsRequest, body).resource_logs as Json[] | undefined) ?? []) {
    const resource = attrs((rl.resource as Json | undefined)?.attributes);
    for (const sl of (rl.scope_logs as Json[] | undefined) ?? []) {
      for (const record of (sl.log_records as Json[] | undefined) ?? []) {
        const attributes: Record<string, LogValue> = {};
        for (const kv of (record.attributes as Json[] | undefined) ?? [])
          attributes[kv.key as string] = logValue(kv.value as Json);
        out.push({
          eventName: (record.event_name as string | undefined) ?? '',
          timeNs: BigInt((record.time_unix_nano as string | undefined) ?? '0'),
          severityNumber: Number(record.severity_number ?? 0),
          traceId: hex(record.trace_id),
          spanId: hex(record.span_id),
          attributes,
          resource,
          scope: scopeOf(sl.scope),
        });
      }
    }
  }
  return out;
};

const point = (p: Json): ReceivedPoint => {
  const base = {
    attributes: attrs(p.attributes),
    startNs: BigInt((p.start_time_unix_nano as string | undefined) ?? '0'),
    timeNs: BigInt((p.time_unix_nano as string | undefined) ?? '0'),
  };
  if ('count' in p || 'bucket_counts' in p) {
    return {
      ...base,
      count: Number(p.count ?? 0),
      sum: p.sum as number | undefined as number,
      min: p.min as number | undefined as number,
      max: p.max as number | undefined as number,
      bucketCounts: ((p.bucket_counts as string[] | undefined) ?? []).map(Number),
      explicitBounds: (p.explicit_bounds as number[] | undefined) ?? [],
    };
  }
  return { ...base, value: p.as_double !== undefined ? (p.as_double as number) : Number(p.as_int ?? 0) };
};

const metricTypes = ['sum', 'histogram', 'gauge', 'exponential_histogram', 'summary'] as const;

export const decodeMetrics = (body: Buffer, exportIndex: number): ReceivedMetric[] => {
  const out: ReceivedMetric[] = [];
  for (const rm of (toObject(MetricsRequest, body).resource_metrics as Json[] | undefined) ?? []) {
    const resource = attrs((rm.resource as Json | undefined)?.attributes);
    for (const sm of (rm.scope_metrics as Json[] | undefined) ?? []) {
      for (const metric of (sm.metrics as Json[] | undefined) ?? []) {
        const type = metricTypes.find((t) => metric[t] !== undefined);
        if (type === undefined) continue;
        const data = metric[type] as Json;
        out.push({
          name: metric.name as string,
          unit: (metric.unit as string | undefined) ?? '',
          description: (metric.description as string | undefined) ?? '',
          type,
          temporality: data.aggregation_temporality as string | undefined,
          monotonic: data.is_monotonic as boolean | undefined,
          points: ((data.data_points as Json[] | undefined) ?? []).map(point),
          resource,
          scope: scopeOf(sm.scope),
          exportIndex,
        });
      }
    }
  }
  return out;
};

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>` — use as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly raw: RawRequest[];
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLogRecord[];
  /** Number of metric export requests received so far. */
  metricExports(): number;
  /** All raw bodies (wire and decompressed) concatenated, for byte greps. */
  allBytes(): Buffer;
  /** Waits until `predicate` holds, polling every 20 ms, failing after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** HTTP status to answer from now on (default 200). */
  respondWith(status: number): void;
  close(): Promise<void>;
}

export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const raw: RawRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const logs: ReceivedLogRecord[] = [];
  let metricExportCount = 0;
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const wire = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
      const path = req.url ?? '';
      raw.push({ path, headers: req.headers, wire, body });
      if (status === 200) {
        if (path.endsWith('/v1/traces')) spans.push(...decodeSpans(body));
        if (path.endsWith('/v1/metrics')) metrics.push(...decodeMetrics(body, metricExportCount++));
        if (path.endsWith('/v1/logs')) logs.push(...decodeLogs(body));
      }
      res.writeHead(status, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    raw,
    spans,
    metrics,
    logs,
    metricExports: () => metricExportCount,
    allBytes: () => Buffer.concat(raw.flatMap((r) => [r.wire, r.body])),
    async waitFor(predicate, timeoutMs = 5000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`OTLP receiver: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    respondWith(next) {
      status = next;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
};
