import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrarySplits, decodeChunks, decodeText, plain, recordedBodies, splitAt } from './helpers.ts';

/**
 * A direct, string-based transcription of the WHATWG "interpreting an event stream" steps, used as the
 * oracle for the incremental byte decoder. With `clean`, a final unterminated event is dispatched (our
 * documented extension); without it, it is discarded as the spec says.
 */
const referenceSse = (text: string, clean: boolean): { event?: string; text: string }[] => {
  const out: { event?: string; text: string }[] = [];
  let body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let data: string[] | undefined;
  let event = '';
  const dispatch = () => {
    if (data !== undefined) out.push({ ...(event === '' ? {} : { event }), text: data.join('\n') });
    data = undefined;
    event = '';
  };
  for (;;) {
    const match = /\r\n|\r|\n/.exec(body);
    if (match === null) break;
    const line = body.slice(0, match.index);
    body = body.slice(match.index + match[0].length);
    if (line === '') {
      dispatch();
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') {
      data ??= [];
      data.push(value);
    } else if (name === 'event') event = value;
  }
  if (clean) {
    // The unterminated last line (a trailing lone CR already ended its line above).
    if (body !== '' && !body.startsWith(':')) {
      const colon = body.indexOf(':');
      const name = colon === -1 ? body : body.slice(0, colon);
      let value = colon === -1 ? '' : body.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (name === 'data') {
        data ??= [];
        data.push(value);
      } else if (name === 'event') event = value;
    }
    dispatch();
  }
  return out;
};

describe('SSE decoder: spec cases', () => {
  it('dispatches on a blank line and joins multi-line data with LF', () => {
    const { frames } = decodeText('sse', ['data: a\ndata: b\n\ndata:c\n\n']);
    expect(plain(frames)).toEqual([{ text: 'a\nb' }, { text: 'c' }]);
  });

  it('accepts LF, CRLF and CR line endings, mixed', () => {
    const { frames } = decodeText('sse', ['data: lf\n\ndata: crlf\r\n\r\ndata: cr\r\rdata: mix\r\n\n']);
    expect(plain(frames)).toEqual([{ text: 'lf' }, { text: 'crlf' }, { text: 'cr' }, { text: 'mix' }]);
  });

  it('treats a CRLF split across chunks as one line end, not two', () => {
    const { frames } = decodeText('sse', ['data: a\r', '\ndata: b\r', '\n\r', '\n']);
    expect(plain(frames)).toEqual([{ text: 'a\nb' }]);
  });

  it('sets the event type and resets it after dispatch', () => {
    const { frames } = decodeText('sse', ['event: message_start\ndata: {}\n\ndata: x\n\n']);
    expect(plain(frames)).toEqual([{ event: 'message_start', text: '{}' }, { text: 'x' }]);
  });

  it('skips comments (OpenRouter processing notices, keep-alives)', () => {
    const { frames } = decodeText('sse', [': OPENROUTER PROCESSING\n\n:\n\ndata: 1\n: inside\ndata: 2\n\n']);
    expect(plain(frames)).toEqual([{ text: '1\n2' }]);
  });

  it('does not dispatch an event without data', () => {
    const { frames } = decodeText('sse', ['event: ping\n\nid: 7\nretry: 100\n\ndata: after\n\n']);
    expect(plain(frames)).toEqual([{ text: 'after' }]);
  });

  it('treats a field without a colon as an empty value: bare `data` dispatches an empty event', () => {
    const { frames } = decodeText('sse', ['data\n\ndata\ndata\n\n']);
    expect(plain(frames)).toEqual([{ text: '' }, { text: '\n' }]);
  });

  it('removes exactly one space after the colon', () => {
    const { frames } = decodeText('sse', ['data:  two\n\ndata:none\n\n']);
    expect(plain(frames)).toEqual([{ text: ' two' }, { text: 'none' }]);
  });

  it('ignores id, retry and unknown fields', () => {
    const { frames } = decodeText('sse', ['id: 1\nretry: 5\nfoo: bar\ndata: x\nDATA: y\n\n']);
    expect(plain(frames)).toEqual([{ text: 'x' }]);
  });

  it('skips a leading BOM, also when split across chunks, but only at the start', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const body = Buffer.concat([bom, Buffer.from('data: a\n\n'), bom, Buffer.from('data: b\n\n')]);
    for (const cut of [1, 2, 3, 4]) {
      const { frames } = decodeChunks('sse', splitAt(body, [cut]));
      // The second BOM makes `\uFEFFdata` an unknown field name, so `b` is not data.
      expect(plain(frames)).toEqual([{ text: 'a' }]);
    }
  });

  it('keeps multi-byte UTF-8 intact when chunks split inside a sequence', () => {
    const body = Buffer.from('data: héllo ✓ 🚀\n\n');
    const { frames } = decodeChunks(
      'sse',
      splitAt(
        body,
        Array.from({ length: body.length }, (_, i) => i),
      ),
    );
    expect(plain(frames)).toEqual([{ text: 'héllo ✓ 🚀' }]);
  });

  it('dispatches an unterminated final event only when the body ended cleanly', () => {
    expect(plain(decodeText('sse', ['data: a\n\ndata: last'], { clean: true }).frames)).toEqual([
      { text: 'a' },
      { text: 'last' },
    ]);
    expect(plain(decodeText('sse', ['data: a\n\ndata: last\n'], { clean: true }).frames)).toEqual([
      { text: 'a' },
      { text: 'last' },
    ]);
    expect(plain(decodeText('sse', ['data: a\n\ndata: last\n'], { clean: false }).frames)).toEqual([
      { text: 'a' },
    ]);
  });
});

describe('SSE decoder: size limit', () => {
  it('drops and counts an event over maxFrameBytes, then carries on', () => {
    const big = 'x'.repeat(100);
    const { frames, dropped } = decodeText(
      'sse',
      [`data: a\n\ndata: ${big}\n\ndata: ${big.slice(0, 20)}\ndata: ${big}\n\ndata: b\n\n`],
      {
        maxFrameBytes: 64,
      },
    );
    expect(plain(frames)).toEqual([{ text: 'a' }, { text: 'b' }]);
    expect(dropped).toBe(2);
  });

  it('drops an oversized event that arrives one byte at a time without buffering it', () => {
    const body = Buffer.from(`data: ${'y'.repeat(1000)}\n\ndata: ok\n\n`);
    const result = decodeChunks(
      'sse',
      splitAt(
        body,
        Array.from({ length: body.length }, (_, i) => i),
      ),
      {
        maxFrameBytes: 64,
      },
    );
    expect(plain(result.frames)).toEqual([{ text: 'ok' }]);
    expect(result.dropped).toBe(1);
    expect(result.maxBuffered).toBeLessThanOrEqual(64);
  });

  it('keeps bufferedBytes under the limit when fed 10x the limit with no line end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 512 }), (limit, chunk) => {
        const body = Buffer.alloc(limit * 10, 0x61);
        const chunks = splitAt(
          body,
          Array.from({ length: Math.ceil(body.length / chunk) }, (_, i) => i * chunk),
        );
        expect(decodeChunks('sse', chunks, { maxFrameBytes: limit }).maxBuffered).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 50 },
    );
  });
});

describe('SSE decoder: properties', () => {
  const bodies = recordedBodies('sse');

  it('has recorded SSE bodies to test with', () => {
    expect(bodies.length).toBeGreaterThan(20);
  });

  it('decodes every recorded body to the same frames however it is split', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) => fc.tuple(fc.constant(body), arbitrarySplits(body.bytes.length))),
        ([body, cuts]) => {
          const whole = decodeChunks('sse', [body.bytes]);
          expect(whole.frames.length).toBeGreaterThan(0);
          expect(decodeChunks('sse', splitAt(body.bytes, cuts)).frames).toEqual(whole.frames);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('matches the spec transcription on generated event streams, split anywhere, cut or clean', () => {
    const token = fc.constantFrom(
      'data',
      'data:',
      'data: ',
      'event: ',
      'id: 1',
      ':',
      ' ',
      'x',
      'é',
      '🚀',
      '\n',
      '\r',
      '\r\n',
      '\n\n',
      '\uFEFF',
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 60 }).map((t) => t.join('')),
        fc.boolean(),
        fc.array(fc.nat({ max: 400 }), { maxLength: 20 }),
        (text, clean, cuts) => {
          const bytes = Buffer.from(text, 'utf8');
          const { frames } = decodeChunks('sse', splitAt(bytes, cuts), { clean });
          expect(plain(frames)).toEqual(referenceSse(text, clean));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary bytes and stays within the limit', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }),
        (bytes, cuts) => {
          const result = decodeChunks('sse', splitAt(bytes, cuts), { maxFrameBytes: 128 });
          expect(result.maxBuffered).toBeLessThanOrEqual(128);
        },
      ),
      { numRuns: 300 },
    );
  });
});
