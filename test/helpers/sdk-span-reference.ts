/**
 * The reference for llmtap's own call span (`src/telemetry/call-span.ts`, #15): the same facts — the app's
 * request headers, the span's start, the ids llmtap drew, then what was set on the span — made into a span the
 * way llmtap did before, with the SDK's TracerProvider, samplers and W3C propagators.
 */
import {
  type Attributes,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  type TimeInput,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  type InstrumentationScope,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { SpanStart } from '../../src/telemetry/call-span.ts';
import type { SamplerName } from '../../src/telemetry/env.ts';

/** What llmtap's export pipeline configured before #15 (`OTEL_TRACES_SAMPLER` → an SDK sampler). */
export const samplerFor = (sampler: SamplerName, ratio: number): Sampler => {
  const byRatio = new TraceIdRatioBasedSampler(ratio);
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return byRatio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: byRatio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
};

export type SpanOp =
  | readonly ['setAttributes', Attributes]
  | readonly ['updateName', string]
  | readonly ['setStatus', SpanStatus]
  | readonly ['end', TimeInput | undefined];

export interface SpanFacts {
  readonly requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  readonly start: SpanStart;
  /** The ids llmtap drew (the trace id is only used for a root span). */
  readonly ids: { readonly traceId: string; readonly spanId: string };
  readonly ops: readonly SpanOp[];
}

export interface ReferenceSetup {
  readonly sampler: SamplerName;
  readonly ratio: number;
  readonly attributeValueLengthLimit: number;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

export interface ReferenceSpan {
  readonly context: SpanContext;
  /** What the propagators injected into the upstream request. */
  readonly headers: Record<string, string>;
  /** The span the processor received at its end (undefined when it was not sampled). */
  readonly ended: ReadableSpan | undefined;
}

const propagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

/** A function making the SDK's span for given facts, under one provider configured as llmtap's was. */
export const sdkSpanReference = (setup: ReferenceSetup): ((facts: SpanFacts) => ReferenceSpan) => {
  const finished: ReadableSpan[] = [];
  let ids = { traceId: '', spanId: '' };
  const provider = new TracerProvider({
    resource: setup.resource,
    sampler: samplerFor(setup.sampler, setup.ratio),
    spanLimits: { attributeValueLengthLimit: setup.attributeValueLengthLimit },
    idGenerator: { generateTraceId: () => ids.traceId, generateSpanId: () => ids.spanId },
    spanProcessors: [
      {
        onStart: () => undefined,
        onEnd: (span) => finished.push(span),
        forceFlush: async () => undefined,
        shutdown: async () => undefined,
      },
    ],
  });
  const { scope } = setup;
  const tracer = provider.getTracer(
    scope.name,
    scope.version,
    scope.schemaUrl === undefined ? {} : { schemaUrl: scope.schemaUrl },
  );
  return (facts) => {
    ids = facts.ids;
    const before = finished.length;
    const parent = propagator.extract(ROOT_CONTEXT, facts.requestHeaders, defaultTextMapGetter);
    const span = tracer.startSpan(
      facts.start.name,
      { kind: SpanKind.CLIENT, startTime: facts.start.startTime, attributes: facts.start.attributes },
      parent,
    );
    const headers: Record<string, string> = {};
    propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
    for (const op of facts.ops) {
      if (op[0] === 'setAttributes') span.setAttributes(op[1]);
      else if (op[0] === 'updateName') span.updateName(op[1]);
      else if (op[0] === 'setStatus') span.setStatus(op[1]);
      else span.end(op[1]);
    }
    return { context: span.spanContext(), headers, ended: finished[before] };
  };
};
