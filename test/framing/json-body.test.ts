import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { decodeChunks, decodeText, plain, splitAt } from './helpers.ts';

describe('JSON body decoder', () => {
  it('emits the whole body as one frame at the end, however it was split', () => {
    const body = Buffer.from('{"id":"x","t":"ü✓"}');
    const whole = decodeChunks('json', [body]);
    const bytewise = decodeChunks(
      'json',
      splitAt(
        body,
        Array.from({ length: body.length }, (_, i) => i),
      ),
    );
    expect(plain(whole.frames)).toEqual([{ text: '{"id":"x","t":"ü✓"}' }]);
    expect(bytewise.frames).toEqual(whole.frames);
  });

  it('emits a cut body too (it is the adapter that finds it is not JSON), and nothing for an empty body', () => {
    expect(plain(decodeText('json', ['{"id":'], { clean: false }).frames)).toEqual([{ text: '{"id":' }]);
    expect(decodeText('json', [], { clean: true }).frames).toEqual([]);
  });

  it('skips a leading BOM', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]);
    expect(plain(decodeChunks('json', [body]).frames)).toEqual([{ text: '{}' }]);
  });

  it('drops a body over maxFrameBytes that is not JSON, counts it, and stops buffering', () => {
    const body = Buffer.alloc(1000, 0x20);
    const result = decodeChunks('json', splitAt(body, [10, 50, 90, 500]), { maxFrameBytes: 100 });
    expect(result.frames).toEqual([]);
    expect(result.dropped).toBe(1);
    expect(result.maxBuffered).toBeLessThanOrEqual(100);
  });
});

describe('JSON body decoder: bodies over the limit', () => {
  const objects = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });

  it('keeps exactly the top-level members that fit, however the body is split', () => {
    fc.assert(
      fc.property(
        objects,
        fc.integer({ min: 2, max: 120 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 15 }),
        (object, limit, cuts) => {
          const parsed = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
          const text = JSON.stringify(parsed);
          const { frames, dropped, maxBuffered } = decodeChunks('json', splitAt(Buffer.from(text), cuts), {
            maxFrameBytes: limit,
          });
          expect(maxBuffered).toBeLessThanOrEqual(limit);
          if (Buffer.byteLength(text) <= limit) {
            expect(frames.map((f) => f.text)).toEqual([text]);
            return;
          }
          // Members are kept in order while the running total (with commas) fits; the rest are skipped.
          const expected: Record<string, unknown> = {};
          let kept = 0;
          for (const [key, value] of Object.entries(parsed)) {
            const size = Buffer.byteLength(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
            // Room is checked for the member plus one comma, so that all that is held stays within the limit.
            if (size <= limit && kept + size + 1 <= limit) {
              Object.defineProperty(expected, key, {
                value,
                enumerable: true,
                writable: true,
                configurable: true,
              });
              kept += kept === 0 ? size : size + 1;
            }
          }
          expect(dropped).toBe(0);
          expect(frames).toHaveLength(1);
          expect(JSON.parse(frames[0]?.text ?? '')).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('drops and counts a body over the limit that is not a complete JSON object', () => {
    for (const body of [
      '[1,2,3,4,5,6,7,8,9,10,11,12]',
      `<html>${'x'.repeat(50)}</html>`,
      `{"a":"${'x'.repeat(50)}`,
    ]) {
      const result = decodeText('json', [body], { maxFrameBytes: 16 });
      expect(result.frames).toEqual([]);
      expect(result.dropped).toBe(1);
    }
  });

  it('still delivers model and usage of recorded embeddings answers far over the limit', () => {
    for (const file of ['openai/embeddings.json', 'mistral/embeddings.json']) {
      const fixture = loadRecordedFixtures().find((f) => f.file === file);
      const body = fixture?.response.body ?? '';
      const full = JSON.parse(body) as Record<string, unknown>;
      const { frames } = decodeChunks('json', splitAt(Buffer.from(body), [100, 5000]), {
        maxFrameBytes: 1024,
      });
      const frame = JSON.parse(frames[0]?.text ?? '{}') as Record<string, unknown>;
      expect(frame.usage, file).toEqual(full.usage);
      expect(frame.model, file).toEqual(full.model);
      expect(frame, file).not.toHaveProperty('data');
    }
  });
});
