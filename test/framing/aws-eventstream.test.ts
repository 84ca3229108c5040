import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arbitrarySplits,
  decodeChunks,
  encodeEventStreamMessage,
  plain,
  recordedBodies,
  splitAt,
} from './helpers.ts';

/** Synthesised messages (encoded in the test from the AWS framing description). */
const event = (type: string, payload: string): Buffer =>
  encodeEventStreamMessage(
    {
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    payload,
  );

describe('AWS eventstream decoder', () => {
  it('emits event type, message type and payload text', () => {
    const body = Buffer.concat([
      event('messageStart', '{"role":"assistant"}'),
      event('metadata', '{"usage":{}}'),
    ]);
    expect(plain(decodeChunks('aws-eventstream', [body]).frames)).toEqual([
      { event: 'messageStart', text: '{"role":"assistant"}', messageType: 'event' },
      { event: 'metadata', text: '{"usage":{}}', messageType: 'event' },
    ]);
  });

  it('reports exception and error messages by :exception-type, else :error-code', () => {
    const exception = encodeEventStreamMessage(
      {
        ':exception-type': { type: 'string', value: 'throttlingException' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      '{"message":"slow down"}',
    );
    const error = encodeEventStreamMessage(
      {
        ':message-type': { type: 'string', value: 'error' },
        ':error-code': { type: 'string', value: 'InternalFailure' },
        ':error-message': { type: 'string', value: 'boom' },
      },
      '',
    );
    expect(plain(decodeChunks('aws-eventstream', [exception, error]).frames)).toEqual([
      { event: 'throttlingException', text: '{"message":"slow down"}', messageType: 'exception' },
      { event: 'InternalFailure', text: '', messageType: 'error' },
    ]);
  });

  it('skips headers of every value type to reach the ones it reports', () => {
    const message = encodeEventStreamMessage(
      {
        t: { type: 'bool', value: true },
        f: { type: 'bool', value: false },
        b: { type: 'byte', value: 7 },
        s: { type: 'short', value: -2 },
        i: { type: 'int', value: 1 << 30 },
        l: { type: 'long', value: 1n << 40n },
        bytes: { type: 'bytes', value: new Uint8Array([0, 1, 2, 0x3a]) },
        ts: { type: 'timestamp', value: 1_700_000_000_000n },
        id: { type: 'uuid', value: new Uint8Array(16).fill(0x3a) },
        ':event-type': { type: 'string', value: 'chunk' },
        ':message-type': { type: 'string', value: 'event' },
      },
      '{"bytes":"e30="}',
    );
    expect(plain(decodeChunks('aws-eventstream', splitAt(message, [5, 13, 40])).frames)).toEqual([
      { event: 'chunk', text: '{"bytes":"e30="}', messageType: 'event' },
    ]);
  });

  it('drops a message whose CRC fails, counts it, and decodes the next one', () => {
    const bad = event('contentBlockDelta', '{"delta":{"text":"hi"}}');
    bad.writeUInt8((bad.at(-10) ?? 0) ^ 0x01, bad.length - 10); // corrupt the payload: message CRC fails, prelude still fine
    const body = Buffer.concat([event('messageStart', '{}'), bad, event('messageStop', '{}')]);
    for (const cuts of [[], Array.from({ length: body.length }, (_, i) => i)]) {
      const result = decodeChunks('aws-eventstream', splitAt(body, cuts));
      expect(result.frames.map((f) => f.event)).toEqual(['messageStart', 'messageStop']);
      expect(result.dropped).toBe(1);
    }
  });

  it('resynchronises after a corrupt prelude, counting the lost stretch once', () => {
    const broken = event('contentBlockDelta', '{"delta":{"text":"lost"}}');
    broken.writeUInt8((broken.at(1) ?? 0) ^ 0xff, 1); // total length corrupt: prelude CRC fails
    const body = Buffer.concat([event('messageStart', '{}'), broken, event('messageStop', '{}')]);
    for (const cuts of [[], Array.from({ length: body.length }, (_, i) => i), [3, 50, 51, 90]]) {
      const result = decodeChunks('aws-eventstream', splitAt(body, cuts));
      expect(result.frames.map((f) => f.event)).toEqual(['messageStart', 'messageStop']);
      expect(result.dropped).toBe(1);
    }
  });

  it('detects any single corrupted byte: never a wrong frame, only dropped ones', () => {
    const body = Buffer.concat([event('a', '{"x":1}'), event('b', '{"y":2}'), event('c', '{"z":3}')]);
    const good = plain(decodeChunks('aws-eventstream', [body]).frames);
    fc.assert(
      fc.property(
        fc.nat({ max: body.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        arbitrarySplits(body.length),
        (at, flip, cuts) => {
          const copy = Buffer.from(body);
          copy[at] = (copy[at] ?? 0) ^ flip;
          const result = decodeChunks('aws-eventstream', splitAt(copy, cuts));
          const frames = plain(result.frames);
          for (const frame of frames) expect(good).toContainEqual(frame);
          expect(frames.length).toBeLessThan(good.length);
          expect(result.dropped).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips a message over maxFrameBytes without buffering it', () => {
    const big = event('chunk', JSON.stringify({ t: 'x'.repeat(5000) }));
    const body = Buffer.concat([event('a', '{}'), big, event('b', '{}')]);
    for (const cuts of [[], Array.from({ length: body.length }, (_, i) => i), [20, 100]]) {
      const result = decodeChunks('aws-eventstream', splitAt(body, cuts), { maxFrameBytes: 1024 });
      expect(result.frames.map((f) => f.event)).toEqual(['a', 'b']);
      expect(result.dropped).toBe(1);
      expect(result.maxBuffered).toBeLessThanOrEqual(1024);
    }
  });

  it('emits nothing for a message cut by the end of the body; counts it only if the body ended cleanly', () => {
    const body = Buffer.concat([event('a', '{}'), event('b', '{}')]);
    const cut = decodeChunks('aws-eventstream', [body.subarray(0, body.length - 3)], { clean: false });
    expect(cut.frames.map((f) => f.event)).toEqual(['a']);
    expect(cut.dropped).toBe(0);
    expect(
      decodeChunks('aws-eventstream', [body.subarray(0, body.length - 3)], { clean: true }).dropped,
    ).toBe(1);
  });

  const bodies = recordedBodies('aws-eventstream');

  it('decodes every recorded Bedrock stream with valid CRCs, the same however it is split', () => {
    expect(bodies.length).toBeGreaterThanOrEqual(10);
    for (const body of bodies) {
      const whole = decodeChunks('aws-eventstream', [body.bytes]);
      expect(whole.dropped, body.file).toBe(0);
      expect(whole.frames.length, body.file).toBeGreaterThan(0);
      for (const frame of whole.frames) expect(frame.messageType, body.file).toBeDefined();
    }
    fc.assert(
      fc.property(
        fc
          .constantFrom(...bodies)
          .chain((body) => fc.tuple(fc.constant(body), arbitrarySplits(body.bytes.length))),
        ([body, cuts]) => {
          expect(decodeChunks('aws-eventstream', splitAt(body.bytes, cuts)).frames).toEqual(
            decodeChunks('aws-eventstream', [body.bytes]).frames,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never throws on arbitrary bytes and keeps bufferedBytes bounded', () => {
    const seed = bodies[0]?.bytes ?? Buffer.alloc(0);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          // Recorded frames with random bytes overwritten: mostly-valid input reaches deeper states.
          fc
            .array(fc.tuple(fc.nat({ max: seed.length }), fc.nat({ max: 255 })), { maxLength: 8 })
            .map((edits) => {
              const copy = Buffer.from(seed);
              for (const [at, value] of edits) if (at < copy.length) copy[at] = value;
              return copy;
            }),
        ),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 20 }),
        (bytes, cuts) => {
          expect(
            decodeChunks('aws-eventstream', splitAt(bytes, cuts), { maxFrameBytes: 512 }).maxBuffered,
          ).toBeLessThanOrEqual(512);
        },
      ),
      { numRuns: 300 },
    );
  });
});
