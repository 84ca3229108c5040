/** The lenient schema building blocks: one odd field costs only that fact. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_FACT_CHARS } from '../../providers/common.ts';
import { ChatChunk } from '../../providers/openai-schemas.ts';
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

describe('lenient schemas', () => {
  const Shape = zObject({ id: zFact, n: zCount, list: zList(zObject({ index: zCount })), any: zAny });

  it('keeps the readable members and turns the odd ones into undefined', () => {
    expect(read(Shape, { id: 'a', n: 3, list: [{ index: 1 }], any: [1] })).toEqual({
      id: 'a',
      n: 3,
      list: [{ index: 1 }],
      any: [1],
    });
    expect(read(Shape, { id: 5, n: -1, list: [7, { index: 'x' }, { index: 2 }] })).toEqual({
      id: undefined,
      n: undefined,
      list: [undefined, { index: undefined }, { index: 2 }],
    });
    expect(read(Shape, { n: 1.5 })?.n).toBeUndefined();
    expect(read(Shape, { n: 28.0 })?.n).toBe(28);
    expect(read(Shape, { n: '12' })?.n).toBeUndefined();
    expect(read(Shape, { id: '' })?.id).toBeUndefined();
    expect(read(Shape, { id: 'x'.repeat(MAX_FACT_CHARS * 2) })?.id).toHaveLength(MAX_FACT_CHARS);
  });

  it('is undefined for anything that is not an object', () => {
    for (const value of [undefined, null, 1, 'text', [1, 2], true])
      expect(read(Shape, value)).toBeUndefined();
  });

  it('reads stop sequences as one string or a list', () => {
    const Stops = zObject({ stop: zStops });
    expect(read(Stops, { stop: 'END' })?.stop).toEqual(['END']);
    expect(read(Stops, { stop: ['a', 'b'] })?.stop).toEqual(['a', 'b']);
    expect(read(Stops, { stop: [] })?.stop).toBeUndefined();
    expect(read(Stops, { stop: [1] })?.stop).toBeUndefined();
  });

  it('a real chunk with optional members absent still parses', () => {
    expect(
      read(ChatChunk, { id: 'c', model: 'm', choices: [{ index: 0, finish_reason: 'stop' }] }),
    ).toMatchObject({
      id: 'c',
      model: 'm',
      choices: [{ index: 0, finish_reason: 'stop' }],
    });
  });

  it('leaves read exactly like the zod chains they stand for (property)', () => {
    // The plain zod definitions the leaves replace, with `.catch` on every member.
    const reference = z.looseObject({
      fact: z
        .string()
        .transform((v) =>
          v.length === 0 ? undefined : v.length > MAX_FACT_CHARS ? v.slice(0, MAX_FACT_CHARS) : v,
        )
        .optional()
        .catch(undefined),
      count: z.number().int().nonnegative().optional().catch(undefined),
      index: z.number().int().nonnegative().optional().catch(undefined),
      number: z.number().optional().catch(undefined),
      boolean: z.boolean().optional().catch(undefined),
    });
    const leaves = z.looseObject({
      fact: zFact,
      count: zCount,
      index: zIndex,
      number: zNumber,
      boolean: zBoolean,
    });
    const value = fc.oneof(
      fc.jsonValue(),
      fc.string({ maxLength: MAX_FACT_CHARS + 2 }),
      fc.double(),
      fc.integer(),
      fc.constantFrom(-0, 2 ** 53, 2 ** 53 - 1, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, '', undefined),
    );
    const keys = ['fact', 'count', 'index', 'number', 'boolean', 'other'] as const;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value), (input) => {
        const expected = reference.parse(input);
        const actual = leaves.parse(input);
        expect(actual).toStrictEqual(expected);
        expect(Object.keys(actual)).toEqual(Object.keys(expected));
      }),
      { numRuns: 5_000 },
    );
  });
});
