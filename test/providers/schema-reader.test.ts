/**
 * The compiled schema readers (providers/schema-reader.ts) against zod itself: for every schema the adapters
 * read with, over every recorded body and stream event (and each of their nested values) and over generated
 * values of right and wrong types, the reader's answer is exactly `z.safeParse(schema, value)`'s — same
 * success, same data (keys, key order, undefined members, array holes).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { MAX_FACT_CHARS } from '../../providers/common.ts';
import {
  read,
  zAny,
  zBoolean,
  zCount,
  zFact,
  zIndex,
  zList,
  zNumber,
  zObject,
  zStops,
} from '../../providers/schema.ts';
import { compileReader, FAIL, type Reader, UnsupportedSchema } from '../../providers/schema-reader.ts';
import { createFrameDecoder } from '../../src/framing/index.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';

const providersDir = new URL('../../providers/', import.meta.url).pathname;
const isSchema = (value: unknown): value is z.core.$ZodType =>
  typeof value === 'object' && value !== null && '_zod' in value;

// Every zod schema any providers/ module exports (the wire schemas and the lenient building blocks).
const exported = new Map<string, z.core.$ZodType>();
for (const file of readdirSync(providersDir)
  .filter((name) => name.endsWith('.ts'))
  .sort()) {
  const module = (await import(join(providersDir, file))) as Record<string, unknown>;
  for (const [name, value] of Object.entries(module)) {
    if (isSchema(value) && file !== 'prices.ts') exported.set(`${file}:${name}`, value);
  }
}

// The lenient builders on their own, and composed the ways the wire schemas compose them.
const builders: Record<string, z.core.$ZodType> = {
  zFact,
  zCount,
  zIndex,
  zNumber,
  zBoolean,
  zAny,
  zStops,
  object: zObject({ id: zFact, n: zCount, ok: zBoolean, any: zAny, stop: zStops }),
  nested: zObject({ inner: zObject({ deep: zObject({ x: zNumber }) }), list: zList(zObject({ i: zIndex })) }),
  strings: zList(z.string()),
  union: z.catch(z.optional(z.union([z.string(), z.int().check(z.nonnegative())])), undefined),
  strict: zObject({ x: z.optional(z.number().check(z.gt(1), z.lt(5), z.lte(4))) }),
  strip: z.object({ a: zCount, b: zFact }),
};

const schemas: [string, z.core.$ZodType][] = [...exported, ...Object.entries(builders)];
const readers = new Map<z.core.$ZodType, Reader>();

/** Exact equality: same primitives (Object.is), same own keys in the same order, holes where holes are. */
const same = (a: unknown, b: unknown, path = '$'): string | undefined => {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return `${path}: ${String(a)} vs ${String(b)}`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  if (keysA.join('\u0000') !== keysB.join('\u0000'))
    return `${path}: keys [${keysA.join()}] vs [${keysB.join()}]`;
  for (const key of keysA) {
    if (key === 'length' && Array.isArray(a)) continue;
    const diff = same(
      (a as Record<PropertyKey, unknown>)[key],
      (b as Record<PropertyKey, unknown>)[key],
      `${path}.${String(key)}`,
    );
    if (diff !== undefined) return diff;
  }
  return undefined;
};

/** Compares one schema's reader with zod on one value; returns the difference, if any. */
const differs = (schema: z.core.$ZodType, value: unknown): string | undefined => {
  let reader = readers.get(schema);
  if (reader === undefined) {
    reader = compileReader(schema);
    readers.set(schema, reader);
  }
  const expected = z.safeParse(schema, value);
  const actual = reader(value);
  if (!expected.success) return actual === FAIL ? undefined : 'zod failed, the reader did not';
  if (actual === FAIL) return 'the reader failed, zod did not';
  return same(actual, expected.data);
};

/** Every JSON value the recorded exchanges carry: request bodies, whole bodies, each stream event's data. */
const recordedValues = (): unknown[] => {
  const values: unknown[] = [];
  const parse = (text: string): void => {
    try {
      const value: unknown = JSON.parse(text);
      values.push(value);
      // Bedrock's InvokeModelWithResponseStream wraps each model chunk as base64 `bytes`.
      const bytes = (value as { bytes?: unknown } | null)?.bytes;
      if (typeof bytes === 'string') parse(Buffer.from(bytes, 'base64').toString('utf8'));
    } catch {
      // Not JSON (an SSE comment, `[DONE]`, plain text): nothing a schema reads.
    }
  };
  for (const fixture of loadRecordedFixtures()) {
    if (fixture.request.body !== null) parse(fixture.request.body);
    const { response } = fixture;
    const body = Buffer.from(response.body, response.body_encoding === 'base64' ? 'base64' : 'utf8');
    const framing = response.format === 'other' ? undefined : response.format;
    if (framing === undefined) continue;
    const decoder = createFrameDecoder(framing as Parameters<typeof createFrameDecoder>[0], {
      maxFrameBytes: 16 << 20,
      onFrame: (frame) => parse(frame.text),
    });
    decoder.push(body);
    decoder.end(true);
  }
  return values;
};

/** A value and every value nested in it (members are read with nested schemas such as Usage). */
const withNested = (value: unknown, into: unknown[] = []): unknown[] => {
  into.push(value);
  if (typeof value === 'object' && value !== null)
    for (const member of Object.values(value)) withNested(member, into);
  return into;
};

describe('compiled schema readers', () => {
  it('compile every schema the adapters read with (no silent fallback to zod on the hot path)', () => {
    expect(exported.size).toBeGreaterThanOrEqual(25);
    for (const [name, schema] of schemas) {
      expect(() => compileReader(schema), name).not.toThrow();
    }
    // Every `read(Schema, …)` in providers/ names an exported schema that compiled above.
    const names = new Set([...exported.keys()].map((key) => key.slice(key.indexOf(':') + 1)));
    const called = readdirSync(providersDir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((file) => [...readFileSync(join(providersDir, file), 'utf8').matchAll(/\bread\(([A-Z]\w*),/g)])
      .map((match) => match[1]);
    expect(called.length).toBeGreaterThanOrEqual(20);
    for (const name of called) expect(names, `read(${name}, …) uses an unexported schema`).toContain(name);
  });

  it('refuse what they do not model, and read() then answers with zod', () => {
    const refined = z.catch(
      z.optional(z.string().check(z.refine((value) => value.startsWith('a')))),
      undefined,
    );
    const Shape = zObject({ id: refined, when: z.catch(z.optional(z.number()), () => -1) });
    expect(() => compileReader(Shape)).toThrow(UnsupportedSchema);
    expect(() => compileReader(z.object({ id: z.string() }))).toThrow(UnsupportedSchema);
    expect(read(Shape, { id: 'b', when: 'x' })).toEqual({ id: undefined, when: -1 });
    expect(read(Shape, { id: 'ab' })).toEqual({ id: 'ab' });
  });

  it('leave reading to zod where Node forbids generating code', () => {
    const script = [
      "import { read } from './providers/schema.ts';",
      "import { ChatChunk } from './providers/openai-schemas.ts';",
      "console.log(JSON.stringify(read(ChatChunk, { id: 'a', choices: [{ index: 0, finish_reason: '' }], x: 1 })));",
    ].join('\n');
    const run = spawnSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ id: 'a', choices: [{ index: 0 }], x: 1 });
    expect(() => compileReader(zFact)).not.toThrow();
  });

  it('answer exactly as zod over every recorded body and event, and every value nested in them', () => {
    const documents = recordedValues();
    expect(documents.length).toBeGreaterThan(500);
    const values = documents.flatMap((document) => withNested(document));
    const objects = values.filter((value) => typeof value === 'object' && value !== null);
    let compared = 0;
    for (const [name, schema] of schemas) {
      // Top-level documents against every schema; nested objects too (usage, deltas, choices…).
      for (const value of objects) {
        const diff = differs(schema, value);
        if (diff !== undefined) expect.fail(`${name} on ${JSON.stringify(value).slice(0, 300)}: ${diff}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  // Right and wrong types per member, as a hostile or odd upstream may send them.
  const numbers = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -0, -1, 1.5, 28.0, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  );
  const strings = fc.oneof(
    fc.string(),
    fc.constantFrom('', 'stop', '__proto__'),
    fc.string({ minLength: MAX_FACT_CHARS - 2, maxLength: MAX_FACT_CHARS + 3 }),
  );
  const scalars = fc.oneof(fc.constant(null), fc.constant(undefined), fc.boolean(), numbers, strings);
  const wrong = fc.oneof(
    { weight: 3, arbitrary: scalars },
    fc.array(scalars, { maxLength: 3 }),
    fc.dictionary(fc.string(), scalars, { maxKeys: 3 }),
    fc.anything({ maxDepth: 2, withNullPrototype: true }),
  );

  /** An own `__proto__` member, as JSON.parse makes for `{"__proto__": …}`. */
  const withOwnProto = (target: Record<string, unknown>, value: unknown): Record<string, unknown> => {
    Object.defineProperty(target, '__proto__', {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return target;
  };

  const arbitraryFor = (node: z.core.$ZodType, depth = 0): fc.Arbitrary<unknown> => {
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    const child = (inner: unknown) => arbitraryFor(inner as z.core.$ZodType, depth + 1);
    switch (def.type) {
      case 'catch':
      case 'optional':
        return fc.oneof({ weight: 3, arbitrary: child(def.innerType) }, wrong);
      case 'pipe':
        return child(def.in);
      case 'string':
        return strings;
      case 'number':
        return numbers;
      case 'boolean':
        return fc.boolean();
      case 'unknown':
        return fc.oneof(scalars, fc.anything({ maxDepth: 2 }));
      case 'array':
        return fc.array(fc.oneof({ weight: 3, arbitrary: child(def.element) }, wrong), { maxLength: 4 });
      case 'union':
        return fc.oneof(...(def.options as z.core.$ZodType[]).map((option) => child(option)));
      case 'object': {
        if (depth > 6) return wrong;
        const shape = def.shape as Record<string, z.core.$ZodType>;
        const members = Object.fromEntries(
          Object.entries(shape).map(([key, schema]) => [key, child(schema)]),
        );
        return fc
          .tuple(
            fc.record(members, { requiredKeys: [] }),
            fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('constructor', 'toString', '0')), scalars, {
              maxKeys: 3,
            }),
            // An own `__proto__` holding an object or null: copying it would replace the result's prototype.
            fc.option(
              fc.oneof(fc.constant(null), fc.dictionary(fc.string(), scalars, { maxKeys: 2 }), scalars),
              {
                freq: 3,
              },
            ),
          )
          .map(([known, extra, proto]) => {
            const value = { ...extra, ...known };
            return proto === null ? value : withOwnProto(value, proto);
          });
      }
      default:
        return wrong;
    }
  };

  for (const [name, schema] of schemas) {
    it(`${name}: answers exactly as zod over generated values`, () => {
      fc.assert(
        fc.property(fc.oneof({ weight: 4, arbitrary: arbitraryFor(schema) }, wrong), (value) => {
          const diff = differs(schema, value);
          if (diff !== undefined) throw new Error(diff);
        }),
        { numRuns: 150 },
      );
    });
  }
});
