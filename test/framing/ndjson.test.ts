import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrarySplits, decodeChunks, decodeText, plain, recordedBodies, splitAt } from './helpers.ts';

describe('NDJSON decoder', () => {
  it('emits one frame per line, removes a trailing CR and skips blank lines', () => {
    const { frames } = decodeText('ndjson', ['{"a":1}\n\n{"b":2}\r\n  \r\n{"c":', '3}\n']);
    expect(plain(frames)).toEqual([{ text: '{"a":1}' }, { text: '{"b":2}' }, { text: '{"c":3}' }]);
  });

  it('emits a final line without LF only when the body ended cleanly', () => {
    expect(plain(decodeText('ndjson', ['{"a":1}\n{"done":true}'], { clean: true }).frames)).toEqual([
      { text: '{"a":1}' },
      { text: '{"done":true}' },
    ]);
    expect(plain(decodeText('ndjson', ['{"a":1}\n{"done":tr'], { clean: false }).frames)).toEqual([
      { text: '{"a":1}' },
    ]);
  });

  it('skips a leading BOM', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]);
    expect(plain(decodeChunks('ndjson', splitAt(body, [1, 2])).frames)).toEqual([{ text: '{"a":1}' }]);
  });

  it('keeps multi-byte UTF-8 intact across any split', () => {
    const body = Buffer.from('{"t":"ü✓🚀"}\n');
    const { frames } = decodeChunks(
      'ndjson',
      splitAt(
        body,
        Array.from({ length: body.length }, (_, i) => i),
      ),
    );
    expect(plain(frames)).toEqual([{ text: '{"t":"ü✓🚀"}' }]);
  });

  it('drops and counts a line over maxFrameBytes, whole or split, then carries on', () => {
    const body = Buffer.from(`{"a":1}\n${'x'.repeat(200)}\n{"b":2}\n`);
    for (const cuts of [[], Array.from({ length: body.length }, (_, i) => i)]) {
      const result = decodeChunks('ndjson', splitAt(body, cuts), { maxFrameBytes: 50 });
      expect(plain(result.frames)).toEqual([{ text: '{"a":1}' }, { text: '{"b":2}' }]);
      expect(result.dropped).toBe(1);
      expect(result.maxBuffered).toBeLessThanOrEqual(50);
    }
  });

  const bodies = recordedBodies('ndjson');

  it('decodes every recorded body (Ollama, Cohere v1) to the same frames however it is split', () => {
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) => fc.tuple(fc.constant(body), arbitrarySplits(body.bytes.length))),
        ([body, cuts]) => {
          const whole = decodeChunks('ndjson', [body.bytes]);
          for (const frame of whole.frames) expect(() => JSON.parse(frame.text)).not.toThrow();
          expect(decodeChunks('ndjson', splitAt(body.bytes, cuts)).frames).toEqual(whole.frames);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never throws on arbitrary bytes and keeps bufferedBytes bounded', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }),
        (bytes, cuts) => {
          expect(
            decodeChunks('ndjson', splitAt(bytes, cuts), { maxFrameBytes: 100 }).maxBuffered,
          ).toBeLessThanOrEqual(100);
        },
      ),
      { numRuns: 300 },
    );
    const flood = Buffer.alloc(10_000, 0x7b);
    expect(
      decodeChunks('ndjson', splitAt(flood, [1, 999, 5000]), { maxFrameBytes: 1000 }).maxBuffered,
    ).toBeLessThanOrEqual(1000);
  });
});
