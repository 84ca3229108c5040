/**
 * A call's span without the SDK's span machinery (#15). The SDK's tracer, per call, built contexts for the
 * extracted parent and for injection, ran its sampler object, made a `SpanImpl` (two clocks read, attribute
 * cleaning that allocates a WeakSet per value) and formatted ids through Buffer hex: ~100 µs per call of the
 * proxy's CPU at 64 concurrent calls against `LLMTAP_MODE=metrics`. `SpanStarter` makes the same span from what
 * llmtap knows — the W3C headers of the app's request, the route, the start and end of the call — and
 * `CallSpan` is what the span processor encodes when it ends (it is a `ReadableSpan`).
 *
 * The SDK's meaning is kept, step for step (a differential test holds the exported bytes and the injected
 * headers equal to the SDK's tracer and propagators for the same facts): the configured sampler
 * (`OTEL_TRACES_SAMPLER`, parent-based forms), random non-zero ids, W3C `traceparent`/`tracestate`
 * extraction and injection (and `baggage` re-injected as the baggage propagator does), span limits
 * (128 attributes, the value length limit), the ended-span and status rules, and the time conversion.
 *
 * Size: one concern, the SDK's span start/record/end rules re-stated in one place so the differential test
 * (`test/telemetry/call-span.test.ts`) can hold them to the SDK's; split, the rules would be harder to compare.
 */
import {
  type Attributes,
  type AttributeValue,
  diag,
  type HrTime,
  type Link,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
} from '@opentelemetry/api';
import {
  AddAttributeDecision,
  cleanAttributes,
  hrTime,
  hrTimeDuration,
  type InstrumentationScope,
  isTimeInputHrTime,
  maybeAddAttribute,
  millisToHrTime,
  parseTraceParent,
  TraceState,
  W3CBaggagePropagator,
} from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import type { SamplerName } from './env.ts';

/** The SDK TracerProvider's default attribute count limit (llmtap never changed it). */
const ATTRIBUTE_COUNT_LIMIT = 128;

/** Which calls are sampled: `OTEL_TRACES_SAMPLER` as the SDK's samplers decide it. */
export interface SamplingPolicy {
  /** parentbased_*: a valid (remote) parent's sampled flag decides; the root sampler only for root spans. */
  readonly parentBased: boolean;
  /** Root decision: every span, none, or a trace id ratio's upper bound (as TraceIdRatioBasedSampler). */
  readonly root: 'on' | 'off' | { readonly upperBound: number };
}

const ratioBound = (ratio: number): { upperBound: number } => {
  const r = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(ratio, 0));
  return { upperBound: r === 1 ? 4_294_967_296 : Math.floor(r * 4_294_967_295) };
};

export const samplingPolicy = (sampler: SamplerName, ratio: number): SamplingPolicy => {
  switch (sampler) {
    case 'always_on':
      return { parentBased: false, root: 'on' };
    case 'always_off':
      return { parentBased: false, root: 'off' };
    case 'traceidratio':
      return { parentBased: false, root: ratioBound(ratio) };
    case 'parentbased_always_off':
      return { parentBased: true, root: 'off' };
    case 'parentbased_traceidratio':
      return { parentBased: true, root: ratioBound(ratio) };
    default:
      return { parentBased: true, root: 'on' };
  }
};

/** TraceIdRatioBasedSampler's hash: the four 32-bit words of the (valid, lowercase hex) trace id xor-ed. */
const accumulate = (traceId: string): number => {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c < 71 ? c - 55 : c - 87);
    }
    accumulation = (accumulation ^ part) >>> 0;
  }
  return accumulation;
};

const sampled = (policy: SamplingPolicy, parent: SpanContext | undefined, traceId: string): boolean => {
  // An extracted parent is always remote and valid (parseTraceParent refuses all-zero ids).
  if (policy.parentBased && parent !== undefined) return (parent.traceFlags & 1) === 1;
  const root = policy.root;
  if (root === 'on') return true;
  if (root === 'off') return false;
  return accumulate(traceId) < root.upperBound;
};

const ID_BYTES = Buffer.allocUnsafe(24);

/**
 * `bytes` random bytes as lowercase hex, never all zero (as the SDK's RandomIdGenerator: 32 random bits at a
 * time, and a last byte of 1 when every byte came out 0). One Buffer-to-hex call for a trace and a span id.
 */
const randomHex = (bytes: number): string => {
  const buf = ID_BYTES;
  for (let i = 0; i < bytes; i += 4) buf.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, i);
  return buf.toString('hex', 0, bytes);
};

const nonZero = (hex: string): boolean => {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return true;
  return false;
};

/** An all-zero id gets a last byte of 1, as the SDK's generator does. */
const fixZero = (hex: string): string => (nonZero(hex) ? hex : `${hex.slice(0, -2)}01`);

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The parent in the app's request: W3CTraceContextPropagator.extract's span context, or undefined. */
export const extractParent = (headers: Headers): SpanContext | undefined => {
  const header = headers.traceparent;
  if (!header) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return undefined;
  const parsed = parseTraceParent(value);
  if (parsed === null) return undefined;
  const parent: SpanContext = { ...parsed, isRemote: true };
  const state = headers.tracestate;
  if (state) {
    const joined = Array.isArray(state) ? state.join(',') : state;
    parent.traceState = new TraceState(typeof joined === 'string' ? joined : undefined);
  }
  return parent;
};

const baggage = new W3CBaggagePropagator();
const baggageGetter = {
  get: (carrier: Headers, key: string) => carrier[key],
  keys: (carrier: Headers) => Object.keys(carrier),
};
const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};

/** The headers CompositePropagator([W3C trace context, W3C baggage]).inject writes for `context`. */
const injected = (context: SpanContext, request: Headers): Record<string, string> => {
  const headers: Record<string, string> = {
    traceparent: `00-${context.traceId}-${context.spanId}-0${context.traceFlags.toString(16)}`,
  };
  if (context.traceState) headers.tracestate = context.traceState.serialize();
  // Rare (the app sent baggage): the SDK's own propagator, for its exact parsing and limits. A failure leaves
  // the span and its trace context alone, as in CompositePropagator.
  if (request.baggage) {
    try {
      baggage.inject(baggage.extract(ROOT_CONTEXT, request, baggageGetter), headers, headerSetter);
    } catch {
      // nothing injected for baggage
    }
  }
  return headers;
};

/** What a span of a call is started with. */
export interface SpanStart {
  readonly name: string;
  /** Epoch milliseconds (or any TimeInput, converted as the SDK's span does). */
  readonly startTime: TimeInput;
  /** Sampling-relevant attributes known before the body is read. */
  readonly attributes: Attributes;
}

export interface SpanSink {
  onEnd(span: ReadableSpan): void;
}

export interface SpanLimitsUsed {
  readonly attributeValueLengthLimit: number;
}

/** A call span has no events or links: one shared, frozen empty list. */
const NO_ITEMS = Object.freeze([]) as unknown as never[];

/** An array of strings, numbers and booleans only (no holes, null or undefined): valid as the SDK checks it. */
const primitiveArray = (value: unknown): boolean => {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const type = typeof value[i];
    if (type !== 'string' && type !== 'number' && type !== 'boolean') return false;
  }
  return true;
};

/** The SDK's copyAndTruncAnyValue for a primitive. */
const truncated = <T>(value: T, limit: number): T =>
  typeof value === 'string' && value.length > limit ? (value.substring(0, limit) as T) : value;

/** The SDK's copyAndTruncAnyValue for an array of primitives: a copy, strings cut to `limit`. */
const copyTruncated = (value: readonly unknown[], limit: number): AttributeValue => {
  const out: unknown[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = truncated(value[i], limit);
  return out as AttributeValue;
};

const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

/**
 * One call's span: the SDK `SpanImpl`'s rules for what can be set when, with the attribute checks done inline
 * for the primitive values llmtap sets (anything else goes through the SDK's own `maybeAddAttribute`). A span
 * that is not sampled records nothing (the SDK's non-recording span) but still has ids to propagate.
 */
export class CallSpan implements ReadableSpan {
  name: string;
  readonly kind = SpanKind.CLIENT;
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  status: SpanStatus = UNSET;
  readonly attributes: Attributes;
  readonly links: Link[] = NO_ITEMS;
  readonly events: TimedEvent[] = NO_ITEMS;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  droppedAttributesCount: number;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  ended = false;
  #duration: HrTime = [-1, -1];
  readonly #context: SpanContext;
  readonly #recording: boolean;
  readonly #starter: SpanStarter;
  #count: number;
  /** Date.now() − (performance.now() + timeOrigin) at the start: how the SDK reads times on the performance clock. */
  #performanceOffset: number | undefined;

  constructor(
    starter: SpanStarter,
    context: SpanContext,
    parent: SpanContext | undefined,
    start: SpanStart,
    recording: boolean,
  ) {
    this.#starter = starter;
    this.#context = context;
    this.#recording = recording;
    this.name = start.name;
    // Always assigned (one object shape), undefined for a root span as on the SDK's span.
    (this as { parentSpanContext?: SpanContext | undefined }).parentSpanContext = parent;
    this.resource = starter.resource;
    this.instrumentationScope = starter.scope;
    if (!recording) {
      this.startTime = [0, 0];
      this.attributes = {};
      this.droppedAttributesCount = 0;
      this.#count = 0;
      return;
    }
    this.startTime = this.#time(start.startTime, true);
    const [attributes, count, dropped] = starter.cleanStart(start.attributes);
    this.attributes = attributes;
    this.#count = count;
    this.droppedAttributesCount = dropped;
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  get duration(): HrTime {
    return this.#duration;
  }

  isRecording(): boolean {
    return this.#recording && !this.ended;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (!this.#recording || this.#ended()) return this;
    if (value === undefined) return this;
    const type = typeof value;
    const primitive = type === 'string' || type === 'number' || type === 'boolean';
    if (key.length === 0 || (!primitive && !primitiveArray(value))) {
      this.#slowAttribute(key, value);
      return this;
    }
    const attributes = this.attributes;
    const isNew = !Object.hasOwn(attributes, key);
    if (isNew && this.#count >= ATTRIBUTE_COUNT_LIMIT) {
      this.droppedAttributesCount++;
      return this;
    }
    const limit = this.#starter.valueLengthLimit;
    attributes[key] = primitive ? truncated(value, limit) : copyTruncated(value as readonly unknown[], limit);
    if (isNew) this.#count++;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (!this.#recording || this.#ended()) return this;
    if (status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (!this.#recording || this.#ended()) return this;
    this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (!this.#recording) return;
    if (this.ended) {
      diag.error(
        `${this.name} ${this.#context.traceId}-${this.#context.spanId} - You can only call end() on a span once.`,
      );
      return;
    }
    this.endTime = this.#time(endTime, false);
    this.#duration = hrTimeDuration(this.startTime, this.endTime);
    if ((this.#duration[0] as number) < 0) {
      this.endTime = this.startTime.slice() as HrTime;
      this.#duration = [0, 0];
    }
    this.ended = true;
    this.#starter.sink.onEnd(this);
  }

  #ended(): boolean {
    if (this.ended) diag.warn('Cannot execute the operation on ended Span');
    return this.ended;
  }

  #slowAttribute(key: string, value: AttributeValue): void {
    const decision = maybeAddAttribute({
      key,
      value,
      attributes: this.attributes,
      limits: {
        attributeCountLimit: ATTRIBUTE_COUNT_LIMIT,
        attributeValueLengthLimit: this.#starter.valueLengthLimit,
      },
      currentAttributesCount: this.#count,
    });
    if (decision === AddAttributeDecision.DROP_LIMIT_REACHED) this.droppedAttributesCount++;
    else if (decision === AddAttributeDecision.ADD_NEW) this.#count++;
  }

  /** SpanImpl._getTime: epoch ms (the usual input) → HrTime; small numbers are on the performance clock. */
  #time(input: TimeInput | undefined, atStart: boolean): HrTime {
    if (typeof input === 'number') {
      const now = performance.now();
      if (input > now) return millisToHrTime(input);
      if (atStart || this.#performanceOffset === undefined) {
        this.#performanceOffset = Date.now() - (now + performance.timeOrigin);
      }
      return hrTime(input + this.#performanceOffset);
    }
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (input !== undefined && isTimeInputHrTime(input)) return input;
    // llmtap always gives a start time, so a missing end is "now" (SpanImpl with a provided start time).
    return millisToHrTime(Date.now());
  }
}

/**
 * Starts call spans for one resource and instrumentation scope (the pipeline's), sampled by `policy`, ended
 * into `sink` (the encoding span processor).
 */
export class SpanStarter {
  readonly sink: SpanSink;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly valueLengthLimit: number;
  readonly #policy: SamplingPolicy;

  constructor(
    policy: SamplingPolicy,
    limits: SpanLimitsUsed,
    sink: SpanSink,
    resource: Resource,
    scope: InstrumentationScope,
  ) {
    this.#policy = policy;
    this.valueLengthLimit = limits.attributeValueLengthLimit;
    this.sink = sink;
    this.resource = resource;
    this.scope = scope;
  }

  /**
   * A CLIENT span under the trace of the app's request (`requestHeaders`), and the headers that carry it
   * upstream (traceparent, tracestate, baggage: what the W3C propagators inject).
   */
  start(requestHeaders: Headers, start: SpanStart): { span: CallSpan; headers: Record<string, string> } {
    const parent = extractParent(requestHeaders);
    let traceId: string;
    let spanId: string;
    if (parent === undefined) {
      const ids = randomHex(24);
      traceId = fixZero(ids.slice(0, 32));
      spanId = fixZero(ids.slice(32));
    } else {
      traceId = parent.traceId;
      spanId = fixZero(randomHex(8));
    }
    const recording = sampled(this.#policy, parent, traceId);
    // The SDK's tracer makes the same object, with a `traceState` key also when there is none.
    const context = {
      traceId,
      spanId,
      traceFlags: recording ? 1 : 0,
      traceState: parent?.traceState,
    } as SpanContext;
    const span = new CallSpan(this, context, parent, start, recording);
    return { span, headers: injected(context, requestHeaders) };
  }

  /** The start attributes as the SDK's tracer cleans them (primitives with keys: kept as they are). */
  cleanStart(attributes: Attributes): [attributes: Attributes, count: number, dropped: number] {
    let simple = true;
    let count = 0;
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      const type = typeof attributes[key];
      count++;
      if (key.length === 0 || (type !== 'string' && type !== 'number' && type !== 'boolean')) simple = false;
    }
    if (simple && count <= ATTRIBUTE_COUNT_LIMIT) {
      const limit = this.valueLengthLimit;
      const out: Attributes = {};
      for (const key in attributes) {
        if (!Object.hasOwn(attributes, key)) continue;
        const value = attributes[key];
        out[key] = truncated(value, limit);
      }
      return [out, count, 0];
    }
    const first = cleanAttributes(attributes, {
      attributeCountLimit: Infinity,
      attributeValueLengthLimit: Infinity,
    });
    const second = cleanAttributes(first.attributes ?? {}, {
      attributeCountLimit: ATTRIBUTE_COUNT_LIMIT,
      attributeValueLengthLimit: this.valueLengthLimit,
    });
    const cleaned = second.attributes ?? {};
    return [
      cleaned,
      Object.keys(cleaned).length,
      (first.droppedAttributesCount ?? 0) + (second.droppedAttributesCount ?? 0),
    ];
  }
}
