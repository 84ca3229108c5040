/** The cheap textual checks adapters use to skip `JSON.parse`, and the total value readers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FACT_MEMBER,
  FinishReasons,
  MAX_CHOICES,
  MAX_FACT_CHARS,
  memberChecks,
  memberObject,
  nonEmptyMember,
  nonNullMember,
  OUTPUT_MEMBER,
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

describe('memberChecks', () => {
  const outputKeys = ['content', 'tool_calls', 'reasoning_content', 'reasoning', 'refusal'];
  const factKeys = ['finish_reason', 'usage', 'error'];
  const checks = memberChecks(outputKeys, factKeys);
  const output = nonEmptyMember(outputKeys);
  const facts = nonNullMember(factKeys);
  const byRegexes = (text: string): number =>
    (output.test(text) ? OUTPUT_MEMBER : 0) | (facts.test(text) ? FACT_MEMBER : 0);

  it('answers like the two regexes on stream chunks', () => {
    for (const text of [
      '{"choices":[{"index":0,"delta":{"content":" hi"},"finish_reason":null}],"usage":null}',
      '{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":null}',
      '{"usage":{"prompt_tokens":1},"choices":[{"delta":{"content":"x"}}]}',
      '{"choices":[],"usage":{"prompt_tokens":1}}',
      '{"choices":[{"delta":{"tool_calls":[]}}],"error":null}',
      '{"content":"usage":1}',
      '{"usage":"content":"x"}',
      '',
    ]) {
      expect(checks(text), text).toBe(byRegexes(text));
    }
  });

  it('answers like the two regexes on any text (property)', () => {
    const piece = fc.constantFrom(
      ...[...outputKeys, ...factKeys, 'text', 'use'].map((k) => `"${k}"`),
      ...['"', ':', ' ', '\u00a0', '\u2028', 'n', 'null', '""', '[', ']', '{', '}', 'x', '\\', ','],
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 2 })), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        expect(checks(text)).toBe(byRegexes(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses key lists it could not tell apart', () => {
    expect(() => memberChecks(['usage'], ['used'])).toThrow();
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
