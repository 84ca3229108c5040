/**
 * llmtap's own call span (`call-span.ts`, #15) against the SDK (`sdk-span-reference.ts`: TracerProvider,
 * samplers, W3C propagators, as llmtap used them before): for generated facts — every sampler, valid and invalid
 * traceparent/tracestate/baggage headers, attribute values of every kind (invalid ones, empty keys, strings past
 * the length limit, more than 128 keys), status and name changes, end times before the start, operations after
 * the end — the sampling decision, the span context, the injected upstream headers and the exported bytes
 * are the SDK's.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CallSpan, extractParent, SpanStarter, samplingPolicy } from '../../src/telemetry/call-span.ts';
import { SAMPLER_NAMES, type SamplerName } from '../../src/telemetry/env.ts';
import { ProtoWriter } from '../../src/telemetry/protobuf-writer.ts';
import {
  DOUBLE_ATTRIBUTES,
  encodeEnvelope,
  wrapSpans,
  writeSpanEntry,
} from '../../src/telemetry/span-encoding.ts';
import { decodeTraceRequest } from '../helpers/otlp-receiver.ts';
import { retypeIntegralDoubles } from '../helpers/retype-doubles.ts';
import { type SpanFacts, type SpanOp, sdkSpanReference } from '../helpers/sdk-span-reference.ts';

const SAMPLERS: readonly SamplerName[] = SAMPLER_NAMES;

const hexOf = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

const traceparent = fc.oneof(
  fc
    .tuple(hexOf(16), hexOf(8), fc.constantFrom('00', '01', '03', 'ff', '0A'))
    .map(([t, s, f]) => `00-${t}-${s}-${f}`),
  fc.tuple(hexOf(16), hexOf(8)).map(([t, s]) => `01-${t}-${s}-01-future`),
  fc.tuple(hexOf(16), hexOf(8)).map(([t, s]) => `00-${t}-${s}-01-extra`),
  fc.tuple(hexOf(16), hexOf(8)).map(([t, s]) => `00-${t.toUpperCase()}-${s}-01`),
  hexOf(8).map((s) => `00-${'0'.repeat(32)}-${s}-01`),
  hexOf(16).map((t) => `00-${t}-${'0'.repeat(16)}-01`),
  fc.tuple(hexOf(16), hexOf(8)).map(([t, s]) => `ff-${t}-${s}-01`),
  fc.tuple(hexOf(16), hexOf(8)).map(([t, s]) => ` 00-${t}-${s}-01 `),
  fc.string({ maxLength: 60 }),
);
const tracestate = fc.oneof(
  fc.constantFrom(
    'vendor=abc',
    'a=1,b=2',
    'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    '',
    'bad key=1',
    'k=v=w',
  ),
  fc.string({ maxLength: 40 }),
);
const baggage = fc.oneof(
  fc.constantFrom('userId=alice', 'a=1,b=2;prop=x', 'k=%20v', '=bad', 'x'),
  fc.string({ maxLength: 40 }),
);
const headers = fc
  .record(
    {
      traceparent: fc.oneof(traceparent, fc.array(traceparent, { minLength: 1, maxLength: 2 })),
      tracestate: fc.oneof(tracestate, fc.array(tracestate, { minLength: 1, maxLength: 2 })),
      baggage: fc.oneof(baggage, fc.array(baggage, { minLength: 1, maxLength: 2 })),
      'content-type': fc.constant('application/json'),
    },
    { requiredKeys: ['content-type'] },
  )
  .map((h) => h as Record<string, string | string[] | undefined>);

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ minLength: 20, maxLength: 80 }));
const value = fc.oneof(
  text,
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double(),
  fc.constant(undefined),
  fc.constant(null),
  fc.array(text, { maxLength: 3 }),
  fc.array(fc.oneof(text, fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), text, { maxKeys: 2 }),
  fc.uint8Array({ maxLength: 40 }),
);
const key = fc.oneof(
  fc.constantFrom(...DOUBLE_ATTRIBUTES),
  fc.constantFrom('gen_ai.provider.name', 'server.port', 'error.type', ''),
  fc.string({ maxLength: 10 }),
);
const attributes = fc.dictionary(key, value, { maxKeys: 8 });
/** More keys than the SDK's attribute count limit (128), so that the drop count is exercised. */
const manyAttributes = fc.integer({ min: 100, max: 140 }).map((n) => {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) out[`k${i}`] = i;
  return out;
});
const epochMs = fc.double({ min: 1_600_000_000_000, max: 2_100_000_000_000, noNaN: true });
const op: fc.Arbitrary<SpanOp> = fc.oneof(
  fc.tuple(fc.constant('setAttributes' as const), fc.oneof(attributes, attributes, manyAttributes)),
  fc.tuple(fc.constant('updateName' as const), text),
  fc.tuple(
    fc.constant('setStatus' as const),
    fc.oneof(
      fc.record({ code: fc.constantFrom(0, 1, 2), message: text }, { requiredKeys: ['code'] }),
      fc.record({ code: fc.constant(2), message: fc.constant(42 as unknown as string) }),
    ),
  ),
);

const setup = fc.record({
  sampler: fc.constantFrom(...SAMPLERS),
  ratio: fc.oneof(fc.constantFrom(0, 0.25, 0.5, 1, -1, 2, Number.NaN), fc.double({ min: 0, max: 1 })),
  attributeValueLengthLimit: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(4096)),
  calls: fc.array(
    fc.record({
      headers,
      name: text,
      start: epochMs,
      startAttributes: fc.oneof(
        fc.constant({ 'server.address': 'api.openai.com', 'server.port': 443 }),
        attributes,
        manyAttributes,
      ),
      ops: fc.array(op, { maxLength: 6 }),
      durationMs: fc.double({ min: -5_000, max: 60_000, noNaN: true }),
      after: fc.array(op, { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

const resource = resourceFromAttributes({ 'service.name': 'chat-app', 'k8s.pod.name': 'p-1' });
const scope = { name: 'llmtap', version: '1.2.3', schemaUrl: 'https://opentelemetry.io/schemas/1.41.1' };

const encoded = (spans: ReadableSpan[]): Uint8Array => {
  const w = new ProtoWriter(16);
  for (const span of spans) writeSpanEntry(w, span, DOUBLE_ATTRIBUTES);
  return wrapSpans(encodeEnvelope(resource, scope), w.buf.subarray(0, w.pos));
};

const reference = (spans: ReadableSpan[]): Uint8Array =>
  retypeIntegralDoubles(
    ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array(),
    DOUBLE_ATTRIBUTES,
  );

/** What a generated case exported through llmtap's span and through the SDK's, with what the spans propagated. */
const both = (s: typeof setup extends fc.Arbitrary<infer T> ? T : never) => {
  const ended: ReadableSpan[] = [];
  const starter = new SpanStarter(
    samplingPolicy(s.sampler, s.ratio),
    { attributeValueLengthLimit: s.attributeValueLengthLimit },
    { onEnd: (span) => ended.push(span) },
    resource,
    scope,
  );
  const sdk = sdkSpanReference({ ...s, resource, scope });
  const ours: { context: unknown; headers: Record<string, string> }[] = [];
  const theirs: typeof ours = [];
  const referenceEnded: ReadableSpan[] = [];
  for (const call of s.calls) {
    const start = { name: call.name, startTime: call.start, attributes: call.startAttributes };
    const { span, headers: injected } = starter.start(call.headers, start);
    const ops: SpanOp[] = [...call.ops, ['end', call.start + call.durationMs], ...call.after];
    for (const o of ops) {
      if (o[0] === 'setAttributes') span.setAttributes(o[1]);
      else if (o[0] === 'updateName') span.updateName(o[1]);
      else if (o[0] === 'setStatus') span.setStatus(o[1]);
      else span.end(o[1]);
    }
    const context = span.spanContext();
    ours.push({ context: { ...context, traceState: context.traceState?.serialize() }, headers: injected });
    const facts: SpanFacts = {
      requestHeaders: call.headers,
      start,
      ids: { traceId: context.traceId, spanId: context.spanId },
      ops,
    };
    const ref = sdk(facts);
    theirs.push({
      context: { ...ref.context, traceState: ref.context.traceState?.serialize() },
      headers: ref.headers,
    });
    if (ref.ended !== undefined) referenceEnded.push(ref.ended);
  }
  return { ended, ours, theirs, referenceEnded };
};

describe('a call span made without the SDK', () => {
  it('samples, propagates and exports exactly what the SDK tracer and W3C propagators did', () => {
    fc.assert(
      fc.property(setup, (s) => {
        const { ended, ours, theirs, referenceEnded } = both(s);
        expect(ours).toEqual(theirs);
        expect(ended.length).toBe(referenceEnded.length);
        if (ended.length === 0) return;
        const got = encoded(ended);
        const want = reference(referenceEnded);
        expect(decodeTraceRequest(got)).toEqual(decodeTraceRequest(want));
        expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('covers what the property claims: each sampler both ways, parents, baggage, drops, truncation, clamped ends', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(setup, (s) => {
        const { ended, ours } = both(s);
        for (const [i, call] of s.calls.entries()) {
          const sampledOut = (ours[i]?.context as { traceFlags: number } | undefined)?.traceFlags === 0;
          seen.add(`${s.sampler} ${sampledOut ? 'dropped' : 'sampled'}`);
          if (extractParent(call.headers) !== undefined) seen.add('parent');
          if (ours[i]?.headers.baggage !== undefined) seen.add('baggage');
          if (ours[i]?.headers.tracestate !== undefined) seen.add('tracestate');
        }
        for (const span of ended as CallSpan[]) {
          if (span.droppedAttributesCount > 0) seen.add('dropped attributes');
          if (span.duration[0] === 0 && span.duration[1] === 0) seen.add('clamped end');
          if (Object.values(span.attributes).some((v) => v === null)) seen.add('null value');
          if (
            Object.values(span.attributes).some(
              (v) => typeof v === 'string' && v.length === s.attributeValueLengthLimit,
            )
          ) {
            seen.add('truncated');
          }
        }
      }),
      { numRuns: 300, seed: 15 },
    );
    const expected = [
      ...SAMPLERS.flatMap((name) =>
        name === 'always_on' || name === 'always_off'
          ? [`${name} ${name === 'always_on' ? 'sampled' : 'dropped'}`]
          : [`${name} sampled`, `${name} dropped`],
      ),
      'parent',
      'baggage',
      'tracestate',
      'dropped attributes',
      'clamped end',
      'null value',
      'truncated',
    ];
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it('a root span gets fresh non-zero ids; a child keeps the trace id and trace state of the app', () => {
    const starter = new SpanStarter(
      samplingPolicy('parentbased_always_on', 1),
      { attributeValueLengthLimit: 4096 },
      { onEnd: () => undefined },
      resource,
      scope,
    );
    const start = { name: 'openai', startTime: Date.now(), attributes: {} };
    const root = starter.start({}, start);
    expect(root.span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.headers).toEqual({
      traceparent: `00-${root.span.spanContext().traceId}-${root.span.spanContext().spanId}-01`,
    });
    const child = starter.start(
      { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', tracestate: 'rojo=1' },
      start,
    );
    expect(child.span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child.span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(child.headers).toEqual({
      traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${child.span.spanContext().spanId}-00`,
      tracestate: 'rojo=1',
    });
  });
});
