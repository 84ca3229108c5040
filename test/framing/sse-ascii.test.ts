/**
 * The SSE decoder's whole-chunk text path (an all-ASCII chunk of 512 bytes or more is decoded once and each value
 * is a substring of it) against its per-value UTF-8 path, which one-byte chunks always take: over every recorded
 * SSE body, split at every point (bounded) and at random, the frames must be identical; and through the capture
 * tap and the adapters, with content capture on, the records must be deep-equal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import { replayFixtureThroughTap } from '../capture/drive-tap.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { adapterIdFor } from '../providers/expected.ts';
import { arbitrarySplits, decodeChunks, decodeText, plain, recordedBodies, splitAt } from './helpers.ts';

const isAsciiBytes = (bytes: Uint8Array): boolean => bytes.every((b) => b < 0x80);
type Plain = ReturnType<typeof plain>;
const references = new WeakMap<Uint8Array, Plain>();
/** The reference: one byte per push never reaches the whole-chunk path. */
const byteByByte = (bytes: Uint8Array): Plain => {
  let frames = references.get(bytes);
  if (frames === undefined) {
    frames = plain(
      decodeChunks(
        'sse',
        splitAt(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ),
      ).frames,
    );
    references.set(bytes, frames);
  }
  return frames;
};

describe('SSE decoder: whole-chunk text of ASCII chunks', () => {
  const bodies = recordedBodies('sse');
  const fast = bodies.filter((body) => body.bytes.length >= 512 && isAsciiBytes(body.bytes));

  it('has recorded bodies that take the whole-chunk path, and some that do not', () => {
    expect(fast.length).toBeGreaterThan(10);
    expect(bodies.some((body) => !isAsciiBytes(body.bytes))).toBe(true);
  });

  it('gives every recorded body the frames of the per-value path, whole and split at every point', () => {
    for (const body of bodies) {
      const reference = byteByByte(body.bytes);
      expect(reference.length, body.file).toBeGreaterThan(0);
      expect(plain(decodeChunks('sse', [body.bytes]).frames), body.file).toEqual(reference);
      // Two chunks, cut at every point (on long bodies at ~100 points: each decode is linear).
      const step = Math.max(1, Math.floor(body.bytes.length / 100));
      for (let cut = 0; cut <= body.bytes.length; cut += step) {
        expect(plain(decodeChunks('sse', splitAt(body.bytes, [cut])).frames), `${body.file} @${cut}`).toEqual(
          reference,
        );
      }
    }
  });

  it('gives the per-value frames under random splits', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) => fc.tuple(fc.constant(body), arbitrarySplits(body.bytes.length))),
        ([body, cuts]) => {
          expect(plain(decodeChunks('sse', splitAt(body.bytes, cuts)).frames)).toEqual(
            byteByByte(body.bytes),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('decodes generated ASCII and non-ASCII streams alike on both paths, with every line ending', () => {
    const value = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ':', '{', '"', '\\', '}', 'é', '😀', '\u00a0') }),
      fc.string({ unit: 'grapheme-ascii' }),
    );
    const field = fc.constantFrom('data', 'data', 'data', 'event', 'id', ': comment', 'retry', 'dat');
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const line = fc
      .tuple(field, value, eol)
      .map(([name, text, end]) => `${name}:${text.replace(/[\r\n]/g, '')}${end}`);
    const event = fc
      .tuple(fc.array(line, { minLength: 1, maxLength: 4 }), eol)
      .map(([lines, end]) => lines.join('') + end);
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        (events, repeat) => {
          const text = events.join('').repeat(repeat);
          const bytes = Buffer.from(text, 'utf8');
          expect(plain(decodeText('sse', [text]).frames)).toEqual(byteByByte(bytes));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('SSE records through the tap: whole-chunk path against per-value path', () => {
  const fixtures = loadRecordedFixtures().filter((fixture) => fixture.response.format === 'sse');

  for (const fixture of fixtures) {
    it(fixture.file, async () => {
      const adapter = adapterById(adapterIdFor(fixture));
      if (adapter === undefined) throw new Error(`no adapter for ${fixture.file}`);
      for (const captureContent of [false, true]) {
        const whole = await replayFixtureThroughTap(fixture, adapter, 'whole', { captureContent });
        // Chunks under 512 bytes never take the whole-chunk path.
        const bytes = await replayFixtureThroughTap(fixture, adapter, { size: 511 }, { captureContent });
        // Only the output stamps differ: one chunk here, several there.
        const { timing: wholeTiming, ...wholeFacts } = whole;
        const { timing: byteTiming, ...byteFacts } = bytes;
        expect(wholeFacts).toEqual(byteFacts);
        expect({ ...wholeTiming, firstOutput: undefined }).toEqual({ ...byteTiming, firstOutput: undefined });
      }
    });
  }
});
