import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRequestBody, SKIM_MEMBER_BYTES } from '../../src/capture/request-body.ts';
import { skimJsonObject } from '../../src/framing/json-skim.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';

const parseObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

const objects = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });

describe('JSON skim', () => {
  it('equals JSON.parse on any object when nothing is too large, however it is laid out', () => {
    fc.assert(
      fc.property(objects, fc.constantFrom(0, 2, '\t', ' \r\n'), (object, indent) => {
        const text = JSON.stringify(object, null, indent);
        expect(skimJsonObject(Buffer.from(text), Number.POSITIVE_INFINITY)).toEqual(JSON.parse(text));
      }),
      { numRuns: 400 },
    );
  });

  it('leaves out exactly the members whose JSON is over the limit', () => {
    fc.assert(
      fc.property(objects, fc.integer({ min: 1, max: 200 }), (object, limit) => {
        const text = JSON.stringify(object);
        const expected = Object.fromEntries(
          Object.entries(JSON.parse(text) as Record<string, unknown>).filter(
            ([, value]) => Buffer.byteLength(JSON.stringify(value)) <= limit,
          ),
        );
        expect(skimJsonObject(Buffer.from(text), limit)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with JSON.parse on malformed and near-JSON input: an object exactly when JSON.parse gives one', () => {
    const nearJson = fc
      .tuple(
        objects,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'x', '')), {
          maxLength: 3,
        }),
      )
      .map(([object, edits]) => {
        let text = JSON.stringify(object);
        for (const [at, ch] of edits) {
          const p = text.length === 0 ? 0 : at % text.length;
          text = text.slice(0, p) + ch + text.slice(p + 1);
        }
        return text;
      });
    fc.assert(
      fc.property(fc.oneof(nearJson, fc.string({ maxLength: 40 })), (text) => {
        const expected = parseObject(text);
        const skimmed = skimJsonObject(Buffer.from(text), Number.POSITIVE_INFINITY);
        if (expected === undefined) expect(skimmed).toBeUndefined();
        else expect(skimmed).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads exactly the members that end before the cut of a body prefix', () => {
    fc.assert(
      fc.property(objects, fc.nat(), fc.integer({ min: 1, max: 100 }), (object, cutSeed, limit) => {
        // Laid out by hand so each member's end offset is known.
        const members: { key: string; value: unknown; end: number }[] = [];
        let text = '{';
        for (const [key, value] of Object.entries(
          JSON.parse(JSON.stringify(object)) as Record<string, unknown>,
        )) {
          if (members.length > 0) text += ',';
          text += `${JSON.stringify(key)}:${JSON.stringify(value)}`;
          members.push({ key, value, end: Buffer.byteLength(text) });
        }
        text += '}';
        const bytes = Buffer.from(text);
        const cut = cutSeed % (bytes.length + 1);
        const expected = Object.fromEntries(
          members
            .filter((m) => m.end < cut && Buffer.byteLength(JSON.stringify(m.value)) <= limit)
            .map((m) => [m.key, m.value]),
        );
        expect(skimJsonObject(bytes.subarray(0, cut), limit, { prefix: true })).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps JSON.parse semantics for duplicate keys and __proto__', () => {
    const text = '{"a":1,"__proto__":{"x":1},"a":2}';
    const skimmed = skimJsonObject(Buffer.from(text), 100);
    expect(skimmed).toEqual(JSON.parse(text));
    expect(Object.hasOwn(skimmed ?? {}, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(skimmed)).toBe(Object.prototype);
  });

  it('skims a large recorded agent request to its small members (synthesised size, recorded body)', () => {
    const fixture = loadRecordedFixtures().find(
      (f) => f.file === 'anthropic/messages_stream_compaction_iterations_usage.json',
    );
    const body = Buffer.from(fixture?.request.body ?? '');
    expect(body.length).toBeGreaterThan(128 * 1024);
    const full = JSON.parse(body.toString()) as Record<string, unknown>;
    const skimmed = readRequestBody(body, {
      contentEncoding: undefined,
      maxBytes: 4 << 20,
      wholeBody: false,
      prefix: false,
    }).body as Record<string, unknown>;
    expect(skimmed.model).toBe(full.model);
    expect(skimmed.stream).toBe(full.stream);
    expect(skimmed.max_tokens).toBe(full.max_tokens);
    expect(skimmed).not.toHaveProperty('messages');
    // With content capture the conversation is needed: the whole body is parsed.
    expect(
      readRequestBody(body, { contentEncoding: undefined, maxBytes: 4 << 20, wholeBody: true, prefix: false })
        .body,
    ).toEqual(full);
  });

  it('parses small bodies whole, and skims only above 64 KiB', () => {
    const small = Buffer.from(JSON.stringify({ model: 'm', messages: ['x'.repeat(1000)] }));
    expect(
      readRequestBody(small, {
        contentEncoding: undefined,
        maxBytes: 4 << 20,
        wholeBody: false,
        prefix: false,
      }).body,
    ).toEqual(JSON.parse(small.toString()));
    const large = Buffer.from(JSON.stringify({ model: 'm', messages: ['x'.repeat(SKIM_MEMBER_BYTES + 1)] }));
    expect(
      readRequestBody(large, {
        contentEncoding: undefined,
        maxBytes: 4 << 20,
        wholeBody: false,
        prefix: false,
      }).body,
    ).toEqual({ model: 'm' });
  });
});

describe('skimJsonObject with stand-ins', () => {
  it('keeps a left-out member as an empty value of its kind, and the small ones as parsed', () => {
    const body = Buffer.from(
      JSON.stringify({ a: [1, 2, 3], b: { c: 'x'.repeat(50) }, s: 'y'.repeat(50), n: 7, t: true, z: null }),
    );
    expect(skimJsonObject(body, 20, { standIns: true })).toEqual({
      a: [1, 2, 3],
      b: {},
      s: '',
      n: 7,
      t: true,
      z: null,
    });
    expect(skimJsonObject(body, 20)).toEqual({ a: [1, 2, 3], n: 7, t: true, z: null });
  });
});
