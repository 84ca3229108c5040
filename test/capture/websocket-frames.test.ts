/**
 * The WebSocket copy decoder with permessage-deflate: freeing it while a decompression is in flight (the socket
 * closed right after a compressed message, or the other direction gave up) must not throw from ws's zlib callback.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/capture/websocket-frames.ts';

/** A server-to-client text frame (unmasked), compressed as permessage-deflate sends it (RSV1, no sync tail). */
const compressedFrame = (text: string): Buffer => {
  const deflated = deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH });
  const payload = deflated.subarray(0, deflated.length - 4);
  if (payload.length >= 126) throw new Error('keep test messages short');
  return Buffer.concat([Buffer.from([0xc1, payload.length]), payload]);
};

const decoder = (onMessage: (text: string) => void): FrameDecoder =>
  new FrameDecoder({
    fromClient: false,
    extensions: 'permessage-deflate',
    maxMessageBytes: 1 << 20,
    onMessage: (data) => onMessage(Buffer.from(data).toString()),
    onGiveUp: (reason) => {
      throw reason;
    },
  });

const firstMessage = (frame: Buffer): Promise<string> =>
  new Promise((resolve) => {
    decoder(resolve).push(frame);
  });

describe('FrameDecoder with permessage-deflate', () => {
  it('decodes a compressed message', async () => {
    expect(await firstMessage(compressedFrame('{"type":"hello"}'))).toBe('{"type":"hello"}');
  });

  it('closed while decompressions are in flight: no exception from the zlib callbacks', async () => {
    // ws is loaded (previous test or this warm-up), so pushes below start inflating at once.
    await firstMessage(compressedFrame('{"type":"warm"}'));
    const delivered: string[] = [];
    for (let i = 0; i < 50; i++) {
      const closing = decoder((text) => delivered.push(text));
      closing.push(compressedFrame(`{"type":"event","n":${i}}`));
      closing.close();
    }
    // Closing inside a message callback (an observer giving up) with more frames queued behind it.
    const inCallback: FrameDecoder = decoder(() => inCallback.close());
    inCallback.push(Buffer.concat([compressedFrame('{"n":1}'), compressedFrame('{"n":2}')]));
    // Positive signal: a decoder started after all of them has delivered, so their zlib work was scheduled first.
    expect(await firstMessage(compressedFrame('{"type":"last"}'))).toBe('{"type":"last"}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toEqual([]);
  });
});
