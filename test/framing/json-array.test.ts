import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrarySplits, decodeChunks, decodeText, plain, recordedBodies, splitAt } from './helpers.ts';

/**
 * Gemini's non-`alt=sse` stream is `[{…},\r\n{…}]`. No such body is recorded, so these bodies are
 * synthesised from the recorded Gemini SSE streams' events, in the documented array layout.
 */
const synthesisedGeminiArrays = (): { file: string; bytes: Buffer; elements: unknown[] }[] =>
  recordedBodies('sse')
    .filter((b) => b.file.startsWith('gemini/'))
    .map((b) => {
      const elements = decodeChunks('sse', [b.bytes]).frames.map((f) => JSON.parse(f.text) as unknown);
      const text = `[${elements.map((e) => JSON.stringify(e, null, 2)).join(',\r\n')}]`;
      return { file: b.file, bytes: Buffer.from(text), elements };
    });

const parsed = (frames: readonly { text: string }[]): unknown[] =>
  frames.map((f) => JSON.parse(f.text) as unknown);

describe('JSON array decoder', () => {
  it('emits each element of a Gemini-style array stream as it completes', () => {
    const { frames } = decodeText('json-array', ['[{"a":1}', ',\r\n{"b":', '[1,2]}', ',\r\n{"c":"x"}]']);
    expect(plain(frames)).toEqual([{ text: '{"a":1}' }, { text: '{"b":[1,2]}' }, { text: '{"c":"x"}' }]);
  });

  it('is not fooled by brackets, braces and escaped quotes inside strings', () => {
    const element = '{"t":"} ] [ { \\" \\\\","u":"\\\\"}';
    const { frames } = decodeText('json-array', [`[${element},${element}]`]);
    expect(frames.map((f) => f.text)).toEqual([element, element]);
    expect(JSON.parse(frames[0]?.text ?? '')).toEqual({ t: '} ] [ { " \\', u: '\\' });
  });

  it('emits scalar and array elements too', () => {
    const { frames } = decodeText('json-array', ['[ 1, "a,]b" ,true,[2,[3]] , null ]']);
    expect(frames.map((f) => f.text)).toEqual(['1', '"a,]b"', 'true', '[2,[3]]', 'null']);
  });

  it('emits a lone top-level object (an error answered to a streaming request) as one frame', () => {
    const { frames, dropped } = decodeText('json-array', ['\r\n{"error":{"code":429}}\n']);
    expect(plain(frames)).toEqual([{ text: '{"error":{"code":429}}' }]);
    expect(dropped).toBe(0);
  });

  it('skips a BOM and ignores what follows the closing bracket', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"a":1}] trailing {"b":2}')]);
    expect(plain(decodeChunks('json-array', splitAt(body, [1, 2])).frames)).toEqual([{ text: '{"a":1}' }]);
  });

  it('gives up on a body that is not JSON at all, counting it once', () => {
    const result = decodeText('json-array', ['<html>[{"a":1}]</html>']);
    expect(result.frames).toEqual([]);
    expect(result.dropped).toBe(1);
  });

  it('emits nothing for an element cut by the end of the body; counts it only if the body ended cleanly', () => {
    const cut = decodeText('json-array', ['[{"a":1},{"b":'], { clean: false });
    expect(plain(cut.frames)).toEqual([{ text: '{"a":1}' }]);
    expect(cut.dropped).toBe(0);
    expect(decodeText('json-array', ['[{"a":1},{"b":'], { clean: true }).dropped).toBe(1);
  });

  it('drops and counts an element over maxFrameBytes and keeps bufferedBytes bounded', () => {
    const big = `{"t":"${'x'.repeat(500)}"}`;
    const body = Buffer.from(`[{"a":1},${big},{"b":2}]`);
    for (const cuts of [[], Array.from({ length: body.length }, (_, i) => i)]) {
      const result = decodeChunks('json-array', splitAt(body, cuts), { maxFrameBytes: 64 });
      expect(plain(result.frames)).toEqual([{ text: '{"a":1}' }, { text: '{"b":2}' }]);
      expect(result.dropped).toBe(1);
      expect(result.maxBuffered).toBeLessThanOrEqual(64);
    }
  });

  it('decodes synthesised Gemini array bodies to the recorded elements however they are split', () => {
    const bodies = synthesisedGeminiArrays();
    expect(bodies.length).toBeGreaterThanOrEqual(4);
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) => fc.tuple(fc.constant(body), arbitrarySplits(body.bytes.length))),
        ([body, cuts]) => {
          expect(parsed(decodeChunks('json-array', splitAt(body.bytes, cuts)).frames)).toEqual(body.elements);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('round-trips any JSON array, pretty or compact, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }),
        fc.constantFrom(0, 1, '\r\n '),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }),
        (elements, indent, cuts) => {
          const bytes = Buffer.from(JSON.stringify(elements, null, indent));
          const { frames, dropped } = decodeChunks('json-array', splitAt(bytes, cuts));
          // -0 becomes 0 through JSON; compare in JSON space.
          expect(parsed(frames)).toEqual(JSON.parse(JSON.stringify(elements)));
          expect(dropped).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes and keeps bufferedBytes bounded', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.string({ maxLength: 500 }).map((s) => Buffer.from(`[${s}`)),
        ),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }),
        (bytes, cuts) => {
          expect(
            decodeChunks('json-array', splitAt(bytes, cuts), { maxFrameBytes: 100 }).maxBuffered,
          ).toBeLessThanOrEqual(100);
        },
      ),
      { numRuns: 300 },
    );
  });
});
