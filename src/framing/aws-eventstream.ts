/**
 * AWS event stream (`application/vnd.amazon.eventstream`, Bedrock `*-stream` APIs), big-endian:
 *
 *   [total_len u32][headers_len u32][prelude_crc u32][headers][payload][message_crc u32]
 *
 * prelude_crc covers the first 8 bytes, message_crc everything before it (CRC-32 as in gzip;
 * https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html). Header: name_len u8, name, type u8,
 * value (0 true, 1 false, 2 byte, 3 short, 4 int, 5 long, 6 bytes u16-prefixed, 7 string u16-prefixed,
 * 8 timestamp, 9 uuid). Emitted frame: `event` = `:event-type`, else `:exception-type`, else `:error-code`;
 * `messageType` = `:message-type`; `text` = the payload as UTF-8.
 *
 * Damage handling: a message whose CRC fails is dropped and counted; its length is trusted because the
 * prelude CRC passed, so decoding resumes at the next message. A prelude that fails its CRC (or is
 * implausible) means the position is lost: the decoder slides one byte at a time until a valid prelude
 * appears, counting one drop per lost stretch. A message over `maxFrameBytes` is skipped without buffering.
 */
import { crc32 } from 'node:zlib';
import type { Frame } from '../adapter.ts';
import { asBuffer, ByteAccumulator } from './bytes.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

const PRELUDE = 12;
/** Prelude plus message CRC: the smallest possible message. */
const OVERHEAD = 16;

/** Byte length of each fixed-size header value type; -1 marks the u16-length-prefixed ones. */
const VALUE_LENGTH: readonly number[] = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16];

const readU32 = (b: Uint8Array, at: number): number =>
  (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;

export class AwsEventStreamDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  /** The message (or prelude) being assembled across chunks. */
  readonly #message = new ByteAccumulator();
  /** Total length of the message being assembled; 0 while its prelude is incomplete. */
  #total = 0;
  /** Bytes still to skip of an oversized message. */
  #skip = 0;
  #lost = false;
  #dropped = 0;

  constructor(options: FrameDecoderOptions) {
    this.#max = Math.max(options.maxFrameBytes, OVERHEAD);
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#message.length;
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    const buf = asBuffer(chunk);
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        this.#skip -= k;
        i += k;
        continue;
      }
      const held = this.#message.length;
      if (held === 0) {
        // Fast path: a whole prelude in this chunk needs no copy; a whole message is decoded in place.
        if (n - i < PRELUDE) {
          this.#message.append(buf, i, n);
          return;
        }
        const total = this.#checkPrelude(buf, i);
        if (total === 0) {
          i += 1;
          continue;
        }
        if (total > this.#max) {
          this.#dropped += 1;
          this.#skip = total;
          continue;
        }
        if (n - i >= total) {
          this.#decodeMessage(buf, i, i + total);
          i += total;
          continue;
        }
        this.#total = total;
        this.#message.append(buf, i, n);
        return;
      }
      if (this.#total === 0) {
        const take = Math.min(PRELUDE - held, n - i);
        this.#message.append(buf, i, i + take);
        i += take;
        if (this.#message.length < PRELUDE) return;
        const total = this.#checkPrelude(this.#message.view(), 0);
        if (total === 0) {
          // Slide by one byte: re-feed the 11 held bytes after the first through the fast path.
          const rest = Buffer.from(this.#message.view().subarray(1));
          this.#message.clear();
          this.push(rest);
          continue;
        }
        if (total > this.#max) {
          this.#dropped += 1;
          this.#message.clear();
          this.#skip = total - PRELUDE;
          continue;
        }
        this.#total = total;
        continue;
      }
      const take = Math.min(this.#total - held, n - i);
      this.#message.append(buf, i, i + take);
      i += take;
      if (this.#message.length === this.#total) {
        const message = this.#message.view();
        this.#total = 0;
        // Cleared after decoding: the view stays valid until then.
        try {
          this.#decodeMessage(message, 0, message.length);
        } finally {
          this.#message.clear();
        }
      }
    }
  }

  end(clean: boolean): void {
    // A partial message at the end cannot pass its CRC: nothing to emit. It counts as dropped only when the
    // body ended cleanly (malformed); when the body was cut, a partial last message is expected.
    if (clean && (this.#message.length > 0 || this.#skip > 0)) this.#dropped += 1;
    this.#message.clear();
    this.#total = 0;
    this.#skip = 0;
  }

  /** The message's total length when the prelude at `at` is valid, else 0 (and the stream is lost). */
  #checkPrelude(buf: Uint8Array, at: number): number {
    const total = readU32(buf, at);
    const headers = readU32(buf, at + 4);
    if (
      total >= OVERHEAD &&
      headers <= total - OVERHEAD &&
      crc32(buf.subarray(at, at + 8)) === readU32(buf, at + 8)
    ) {
      this.#lost = false;
      return total;
    }
    if (!this.#lost) {
      this.#lost = true;
      this.#dropped += 1;
    }
    return 0;
  }

  #decodeMessage(buf: Buffer, start: number, end: number): void {
    if (crc32(buf.subarray(start, end - 4)) !== readU32(buf, end - 4)) {
      this.#dropped += 1;
      return;
    }
    const headersEnd = start + PRELUDE + readU32(buf, start + 4);
    let messageType: string | undefined;
    let eventType: string | undefined;
    let exceptionType: string | undefined;
    let errorCode: string | undefined;
    let p = start + PRELUDE;
    let bad = false;
    while (p < headersEnd) {
      const nameLen = buf[p] ?? 0;
      const nameStart = p + 1;
      const typeAt = nameStart + nameLen;
      if (nameLen === 0 || typeAt >= headersEnd) {
        bad = true;
        break;
      }
      const type = buf[typeAt] ?? 255;
      const fixed = VALUE_LENGTH[type];
      let valueStart = typeAt + 1;
      let valueEnd = valueStart + (fixed ?? 0);
      if (fixed === undefined || (fixed === -1 && valueStart + 2 > headersEnd)) {
        bad = true;
        break;
      }
      if (fixed === -1) {
        const len = ((buf[valueStart] ?? 0) << 8) | (buf[valueStart + 1] ?? 0);
        valueStart += 2;
        valueEnd = valueStart + len;
      }
      if (valueEnd > headersEnd) {
        bad = true;
        break;
      }
      // Only the four names we report are decoded; `:` first keeps the test cheap for the rest.
      if (type === 7 && buf[nameStart] === 0x3a) {
        const name = buf.toString('latin1', nameStart, typeAt);
        if (name === ':message-type') messageType = buf.toString('utf8', valueStart, valueEnd);
        else if (name === ':event-type') eventType = buf.toString('utf8', valueStart, valueEnd);
        else if (name === ':exception-type') exceptionType = buf.toString('utf8', valueStart, valueEnd);
        else if (name === ':error-code') errorCode = buf.toString('utf8', valueStart, valueEnd);
      }
      p = valueEnd;
    }
    if (bad) {
      this.#dropped += 1;
      return;
    }
    const frame: Frame = {
      event: eventType ?? exceptionType ?? errorCode,
      text: buf.toString('utf8', headersEnd, end - 4),
      messageType,
    };
    this.#onFrame(frame);
  }
}

export const createAwsEventStreamDecoder = (options: FrameDecoderOptions): FrameDecoder =>
  new AwsEventStreamDecoder(options);
