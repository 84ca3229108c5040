/**
 * OTLP protobuf for one finished span, written the moment it ends (#15). A span that waits for its batch as
 * an SDK object graph survives the young-generation scavenges and is promoted, so every call left garbage for
 * the major GC (+875k instructions per call under valgrind); as bytes in one shared buffer it is nothing the
 * GC traces, and the batch request is only an envelope around those bytes (no batch encode at all).
 *
 * Field for field this writes what `@opentelemetry/otlp-transformer`'s `ProtobufTraceSerializer` writes, in
 * the same order (a differential test holds the two byte-equal), with one intended difference: a number under
 * a double-typed semconv key (`DOUBLE_ATTRIBUTES`) is a `double_value` also when it is integral — JavaScript
 * has one number type and the SDK writes every integral number as `int_value`.
 *
 * Messages (opentelemetry-proto v1, field numbers as in trace.proto / common.proto / resource.proto):
 * ExportTraceServiceRequest{1 ResourceSpans{1 Resource, 2 ScopeSpans{1 scope, 2 Span…, 3 schema_url}, 3 schema_url}}.
 */
import type { Attributes, AttributeValue, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { BYTES, EncodedStrings, FIXED32, FIXED64, ProtoWriter, VARINT } from './protobuf-writer.ts';
import { ATTR } from './semconv.ts';

/** Every span attribute llmtap sets whose type the conventions define as double. */
export const DOUBLE_ATTRIBUTES: ReadonlySet<string> = new Set([
  ATTR.requestTemperature,
  ATTR.requestTopP,
  ATTR.requestTopK,
  ATTR.requestFrequencyPenalty,
  ATTR.requestPresencePenalty,
  ATTR.responseTimeToFirstChunk,
  ATTR.usageCost,
]);

const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;
/** SpanFlags: the context's W3C flags plus "is_remote is known" (256) and "is remote" (512), as the SDK. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** AnyValue {1 string, 2 bool, 3 int, 4 double, 5 array, 6 kvlist, 7 bytes}; `asDouble`: a double-typed key. */
const anyValue = (w: ProtoWriter, value: unknown, asDouble: boolean): void => {
  switch (typeof value) {
    case 'string':
      w.tag(1, BYTES);
      w.string(value);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (asDouble) {
        w.tag(4, FIXED64);
        w.double(value === 0 ? 0 : value); // an integral -0 would have gone out as int 0
      } else if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) {
        w.tag(3, VARINT);
        w.varint(value);
      } else {
        w.tag(4, FIXED64);
        w.double(value);
      }
      return;
    case 'object':
      break;
    default:
      return;
  }
  if (value === null) return;
  if (value instanceof Uint8Array) {
    w.tag(7, BYTES);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.tag(5, BYTES);
    const array = w.open();
    for (const item of value) {
      w.tag(1, BYTES);
      const at = w.open();
      anyValue(w, item, false);
      w.close(at);
    }
    w.close(array);
  } else {
    w.tag(6, BYTES);
    const list = w.open();
    keyValues(w, value as Record<string, unknown>, 1, undefined);
    w.close(list);
  }
};

/** KeyValue.key: llmtap writes the same few dozen keys on every span (bounded for keys made from traffic). */
const keyField = new EncodedStrings(1, 1024);

/** repeated KeyValue {1 key, 2 value} as field `field`, in the object's own key order. */
const keyValues = (
  w: ProtoWriter,
  attributes: Attributes | Record<string, unknown>,
  field: number,
  doubleKeys: ReadonlySet<string> | undefined,
): void => {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const value: AttributeValue | unknown = attributes[key];
    w.tag(field, BYTES);
    const kv = w.open();
    keyField.write(w, key);
    w.tag(2, BYTES);
    const any = w.open();
    anyValue(w, value, typeof value === 'number' && doubleKeys !== undefined && doubleKeys.has(key));
    w.close(any);
    w.close(kv);
  }
};

const spanFlags = (context: SpanContext, parentIsRemote: boolean | undefined): number =>
  (context.traceFlags & 0xff) | HAS_IS_REMOTE | (parentIsRemote === true ? IS_REMOTE : 0);

/** Fields 1-3 of a Span and of a Span.Link alike: trace id, span id, trace state (when any). */
const writeIds = (w: ProtoWriter, context: SpanContext): void => {
  w.tag(1, BYTES);
  w.hexBytes(context.traceId);
  w.tag(2, BYTES);
  w.hexBytes(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    w.tag(3, BYTES);
    w.string(traceState);
  }
};

/**
 * Writes `span` as one `ScopeSpans.spans` entry (field 2: tag, length, Span), so that queued spans
 * concatenate into a ScopeSpans body as they are.
 */
export const writeSpanEntry = (w: ProtoWriter, span: ReadableSpan, doubleKeys: ReadonlySet<string>): void => {
  w.tag(2, BYTES);
  const at = w.open();
  const context = span.spanContext();
  writeIds(w, context);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, BYTES);
    w.hexBytes(parent.spanId);
  }
  w.tag(5, BYTES);
  w.string(span.name);
  w.tag(6, VARINT);
  w.varint(span.kind + 1); // api SpanKind INTERNAL = 0 is OTLP SPAN_KIND_INTERNAL = 1
  w.tag(7, FIXED64);
  w.hrTime(span.startTime);
  w.tag(8, FIXED64);
  w.hrTime(span.endTime);
  keyValues(w, span.attributes, 9, doubleKeys);
  w.tag(10, VARINT);
  w.varint(span.droppedAttributesCount);
  for (const event of span.events) {
    w.tag(11, BYTES);
    const e = w.open();
    w.tag(1, FIXED64);
    w.hrTime(event.time);
    w.tag(2, BYTES);
    w.string(event.name);
    if (event.attributes) keyValues(w, event.attributes, 3, undefined);
    w.tag(4, VARINT);
    w.varint(event.droppedAttributesCount || 0);
    w.close(e);
  }
  w.tag(12, VARINT);
  w.varint(span.droppedEventsCount);
  for (const link of span.links) {
    w.tag(13, BYTES);
    const l = w.open();
    const linked = link.context;
    writeIds(w, linked);
    if (link.attributes) keyValues(w, link.attributes, 4, undefined);
    w.tag(5, VARINT);
    w.varint(link.droppedAttributesCount || 0);
    w.tag(6, FIXED32);
    w.fixed32(spanFlags(linked, linked.isRemote));
    w.close(l);
  }
  w.tag(14, VARINT);
  w.varint(span.droppedLinksCount);
  w.tag(15, BYTES);
  const status = w.open();
  if (span.status.message) {
    w.tag(2, BYTES);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.varint(span.status.code);
  w.close(status);
  w.tag(16, FIXED32);
  w.fixed32(spanFlags(context, parent?.isRemote));
  w.close(at);
};

/**
 * The parts of an `ExportTraceServiceRequest` around a run of span entries, for one resource and scope:
 * `head` = ResourceSpans.resource and the start of ScopeSpans.scope, `scopeTail` / `resourceTail` = the
 * schema URLs that follow the spans in ScopeSpans and in ResourceSpans. Encoded once per pipeline.
 */
export interface Envelope {
  readonly resource: Uint8Array;
  readonly scope: Uint8Array;
  readonly scopeTail: Uint8Array;
  readonly resourceTail: Uint8Array;
}

const encoded = (write: (w: ProtoWriter) => void): Uint8Array => {
  const w = new ProtoWriter(1024);
  write(w);
  return w.buf.slice(0, w.pos);
};

const schemaUrl = (url: string | undefined): Uint8Array =>
  encoded((w) => {
    if (!url) return;
    w.tag(3, BYTES);
    w.string(url);
  });

export const encodeEnvelope = (resource: Resource, scope: InstrumentationScope): Envelope => ({
  resource: encoded((w) => {
    w.tag(1, BYTES);
    const at = w.open();
    keyValues(w, resource.attributes, 1, undefined);
    w.tag(2, VARINT);
    w.varint(0);
    w.close(at);
  }),
  scope: encoded((w) => {
    w.tag(1, BYTES);
    const at = w.open();
    w.tag(1, BYTES);
    w.string(scope.name);
    if (scope.version) {
      w.tag(2, BYTES);
      w.string(scope.version);
    }
    w.close(at);
  }),
  scopeTail: schemaUrl(scope.schemaUrl),
  resourceTail: schemaUrl(resource.schemaUrl),
});

const varintSize = (value: number): number => {
  let size = 1;
  for (let v = value; v > 127; v = Math.floor(v / 128)) size += 1;
  return size;
};

const putVarint = (out: Uint8Array, at: number, value: number): number => {
  let v = value;
  let p = at;
  while (v > 127) {
    out[p++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[p++] = v;
  return p;
};

/** One `ExportTraceServiceRequest` holding `spans` (concatenated span entries) under `envelope`. */
export const wrapSpans = (envelope: Envelope, spans: Uint8Array): Uint8Array => {
  const scopeSpans = envelope.scope.length + spans.length + envelope.scopeTail.length;
  const resourceSpans =
    envelope.resource.length + 1 + varintSize(scopeSpans) + scopeSpans + envelope.resourceTail.length;
  const out = new Uint8Array(1 + varintSize(resourceSpans) + resourceSpans);
  let at = 0;
  out[at++] = (1 << 3) | BYTES; // ExportTraceServiceRequest.resource_spans
  at = putVarint(out, at, resourceSpans);
  out.set(envelope.resource, at);
  at += envelope.resource.length;
  out[at++] = (2 << 3) | BYTES; // ResourceSpans.scope_spans
  at = putVarint(out, at, scopeSpans);
  for (const part of [envelope.scope, spans, envelope.scopeTail, envelope.resourceTail]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
