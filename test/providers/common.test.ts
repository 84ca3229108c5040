/** The cheap textual checks adapters use to skip `JSON.parse`, and the total value readers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  count,
  FinishReasons,
  hasNonEmpty,
  hasNonNull,
  MAX_CHOICES,
  MAX_FACT_CHARS,
  memberObject,
  str,
} from '../../providers/common.ts';

describe('hasNonNull / hasNonEmpty', () => {
  it('look at values, tolerate whitespace, and ignore keys inside strings', () => {
    expect(hasNonNull('{"usage":null}', '"usage"')).toBe(false);
    expect(hasNonNull('{"usage" : {"a":1}}', '"usage"')).toBe(true);
    expect(hasNonNull('{"finish_reason":null,"x":{"finish_reason":"stop"}}', '"finish_reason"')).toBe(true);
    expect(hasNonNull('{"content":"say \\"usage\\": 1"}', '"usage"')).toBe(false);
    expect(hasNonEmpty('{"content":""}', '"content"')).toBe(false);
    expect(hasNonEmpty('{"tool_calls":[]}', '"tool_calls"')).toBe(false);
    expect(hasNonEmpty('{"content":"a"}', '"content"')).toBe(true);
    expect(hasNonEmpty('{"content": null, "content":"b"}', '"content"')).toBe(true);
    expect(hasNonEmpty('{"content_filter_results":{"a":1}}', '"content"')).toBe(false);
  });

  it('never miss a non-null member of a real JSON object (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('usage', 'id', 'x'), fc.jsonValue()), (record) => {
        const text = JSON.stringify(record);
        const value = record.usage;
        if (value !== undefined && value !== null) expect(hasNonNull(text, '"usage"')).toBe(true);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('memberObject', () => {
  it('parses only the member, whatever braces and quotes its strings hold', () => {
    const text =
      '{"candidates":[{"text":"} { \\" }"}],"usageMetadata":{"a":1,"s":"}{\\"","n":{"b":2}},"z":3}';
    expect(memberObject(text, '"usageMetadata"')).toEqual({ a: 1, s: '}{"', n: { b: 2 } });
    expect(memberObject('{"usageMetadata":null}', '"usageMetadata"')).toBeUndefined();
    expect(memberObject('{"usageMetadata":{"a":', '"usageMetadata"')).toBeUndefined();
    expect(memberObject('{}', '"usageMetadata"')).toBeUndefined();
  });

  it('agrees with JSON.parse on generated objects (property)', () => {
    fc.assert(
      fc.property(fc.object(), fc.object(), (before, member) => {
        const text = JSON.stringify({ ...before, usageMetadata: member });
        const parsed = JSON.parse(text) as { usageMetadata: unknown };
        expect(memberObject(text, '"usageMetadata"')).toEqual(parsed.usageMetadata);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe('value readers', () => {
  it('cap strings, reject non-integers as token counts, and bound choices', () => {
    expect(str('x'.repeat(MAX_FACT_CHARS + 10))?.length).toBe(MAX_FACT_CHARS);
    expect(str('')).toBeUndefined();
    expect(str(5)).toBeUndefined();
    expect(count(28.0)).toBe(28);
    expect(count(1.5)).toBeUndefined();
    expect(count(-1)).toBeUndefined();
    expect(count('12')).toBeUndefined();
    const reasons = new FinishReasons();
    reasons.set(MAX_CHOICES + 5, 'stop');
    reasons.set(1, 'length');
    reasons.set(1, 'stop');
    reasons.set(0, 'stop');
    expect(reasons.list()).toEqual(['stop', 'length']);
  });
});
