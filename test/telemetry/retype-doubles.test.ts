/**
 * The differential test's reference (`test/helpers/retype-doubles.ts`, what llmtap ran after the SDK's span
 * serializer before #15) is itself right: for any attribute set, the decoded request equals the SDK's own
 * except that integral numbers under double-typed keys arrive as `double_value`.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSpans } from '../helpers/otlp-receiver.ts';
import { retypeIntegralDoubles } from '../helpers/retype-doubles.ts';

const memory = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
const tracer = provider.getTracer('test');

const doubleKeys = ['gen_ai.request.temperature', 'gen_ai.request.top_p', 'gen_ai.request.frequency_penalty'];
const otherKeys = ['gen_ai.request.max_tokens', 'server.port', 'gen_ai.operation.name', 'x.flag'];

const value = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  fc.boolean(),
);

const spansWith = (attributeSets: Record<string, string | number | boolean>[]) => {
  memory.reset();
  for (const attributes of attributeSets) tracer.startSpan('s', { attributes }).end();
  return memory.getFinishedSpans();
};

describe('retypeIntegralDoubles', () => {
  it('changes only the value type of integral numbers under double-typed keys, never a value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.constantFrom(...doubleKeys, ...otherKeys), value), {
          minLength: 1,
          maxLength: 4,
        }),
        (sets) => {
          const spans = spansWith(sets);
          const sdk = decodeSpans(
            Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array()),
          );
          const ours = decodeSpans(
            Buffer.from(
              retypeIntegralDoubles(
                ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array(),
                new Set(doubleKeys),
              ),
            ),
          );
          expect(ours.map((s) => s.attributes)).toEqual(sdk.map((s) => s.attributes));
          expect(ours.map((s) => ({ ...s, attributes: {}, attributeTypes: {} }))).toEqual(
            sdk.map((s) => ({ ...s, attributes: {}, attributeTypes: {} })),
          );
          ours.forEach((span, i) => {
            for (const [key, type] of Object.entries(span.attributeTypes)) {
              const original = sdk[i]?.attributeTypes[key];
              if (doubleKeys.includes(key) && original === 'int_value') expect(type).toBe('double_value');
              else expect(type).toBe(original);
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns bytes it cannot walk unchanged, and the same buffer when nothing needs a change', () => {
    const broken = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    expect(retypeIntegralDoubles(broken, new Set(doubleKeys))).toBe(broken);
    const bytes = ProtobufTraceSerializer.serializeRequest(
      spansWith([{ 'gen_ai.request.temperature': 0.7 }]),
    );
    if (bytes === undefined) throw new Error('no bytes');
    expect(retypeIntegralDoubles(bytes, new Set(doubleKeys))).toBe(bytes);
  });
});
