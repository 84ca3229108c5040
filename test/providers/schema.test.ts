/** The lenient schema building blocks: one odd field costs only that fact. */
import { describe, expect, it } from 'vitest';
import { MAX_FACT_CHARS } from '../../providers/common.ts';
import { ChatChunk } from '../../providers/openai-schemas.ts';
import { read, zAny, zCount, zFact, zList, zObject, zStops } from '../../providers/schema.ts';

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
});
