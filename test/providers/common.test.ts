/** The cheap textual checks adapters use to skip `JSON.parse`, and the total value readers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FinishReasons,
  MAX_CHOICES,
  MAX_FACT_CHARS,
  memberObject,
  nonEmptyMember,
  str,
} from '../../providers/common.ts';

describe('nonEmptyMember', () => {
  const content = nonEmptyMember(['content', 'tool_calls']);

  it('looks at values, tolerates whitespace, and ignores keys inside strings', () => {
    expect(content.test('{"content":""}')).toBe(false);
    expect(content.test('{"content":null}')).toBe(false);
    expect(content.test('{"tool_calls":[]}')).toBe(false);
    expect(content.test('{"tool_calls":[ ]}')).toBe(true); // a false positive costs one output count
    expect(content.test('{"content" : "a"}')).toBe(true);
    expect(content.test('{"content": null, "content":"b"}')).toBe(true);
    expect(content.test('{"tool_calls":[{"index":0}]}')).toBe(true);
    expect(content.test('{"content_filter_results":{"a":1}}')).toBe(false);
    expect(content.test('{"text":"say \\"content\\": 1"}')).toBe(false);
  });

  it('agrees with the parsed value on generated objects (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('content', 'id', 'x'), fc.jsonValue()), (record) => {
        const value = record.content;
        const empty =
          value === undefined ||
          value === null ||
          value === '' ||
          (Array.isArray(value) && value.length === 0) ||
          (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
        // Only top-level `content` matters here; nested keys named `content` may also match.
        const nested = JSON.stringify(record).split('"content"').length > 2;
        if (!nested) expect(content.test(JSON.stringify(record))).toBe(!empty);
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
  it('cap strings and bound choices', () => {
    expect(str('x'.repeat(MAX_FACT_CHARS + 10))?.length).toBe(MAX_FACT_CHARS);
    expect(str('')).toBeUndefined();
    expect(str(5)).toBeUndefined();
    const reasons = new FinishReasons();
    reasons.set(MAX_CHOICES + 5, 'stop');
    reasons.set(1, 'length');
    reasons.set(1, 'stop');
    reasons.set(0, 'stop');
    expect(reasons.list()).toEqual(['stop', 'length']);
  });
});
