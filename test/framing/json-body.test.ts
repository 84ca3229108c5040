import { describe, expect, it } from 'vitest';
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

  it('drops a body over maxFrameBytes, counts it, and stops buffering', () => {
    const body = Buffer.alloc(1000, 0x20);
    const result = decodeChunks('json', splitAt(body, [10, 50, 90, 500]), { maxFrameBytes: 100 });
    expect(result.frames).toEqual([]);
    expect(result.dropped).toBe(1);
    expect(result.maxBuffered).toBeLessThanOrEqual(100);
  });
});
