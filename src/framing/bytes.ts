/**
 * Byte helpers shared by the framing decoders. Decoders work on bytes, not strings, so that a chunk split
 * inside a UTF-8 sequence never produces a replacement character: every delimiter they look for is ASCII,
 * which never occurs inside a multi-byte UTF-8 sequence, so text is decoded only once a frame is whole.
 */
import { Buffer } from 'node:buffer';

const EMPTY = Buffer.alloc(0);
/** Above this capacity a cleared accumulator gives its memory back, so one big frame does not pin it. */
const KEEP_CAPACITY = 64 * 1024;

/** A view of `chunk` with `Buffer` methods; no copy (chunks from `node:http` already are Buffers). */
export const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** A growable byte buffer for the one frame being assembled across chunks. */
export class ByteAccumulator {
  #buf: Buffer = EMPTY;
  #len = 0;

  get length(): number {
    return this.#len;
  }

  /** Copies `src[start, end)`; the caller enforces the frame limit before appending. */
  append(src: Uint8Array, start: number, end: number): void {
    const add = end - start;
    if (add <= 0) return;
    const need = this.#len + add;
    if (need > this.#buf.length) {
      // Doubling keeps the total copy work linear in the frame size however it is chunked.
      const next = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2, 256));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    if (add <= 16) {
      // Tiny pieces (a chunk split mid-line): a byte loop avoids allocating a subarray view per push.
      const buf = this.#buf;
      for (let i = 0, at = this.#len; i < add; i++, at++) buf[at] = src[start + i] ?? 0;
    } else if (Buffer.isBuffer(src)) {
      // Buffer#copy takes offsets: no subarray view to allocate.
      src.copy(this.#buf, this.#len, start, end);
    } else {
      this.#buf.set(src.subarray(start, end), this.#len);
    }
    this.#len = need;
  }

  /** The bytes held, as a view valid until the next `append` or `clear`. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  byteAt(index: number): number {
    return this.#buf[index] ?? 0;
  }

  text(start = 0, end = this.#len): string {
    return this.#buf.toString('utf8', start, end);
  }

  clear(): void {
    this.#len = 0;
    if (this.#buf.length > KEEP_CAPACITY) this.#buf = EMPTY;
  }
}

/** True when every byte in `[start, end)` is JSON whitespace (space, tab, CR, LF). */
export const isBlank = (bytes: Uint8Array, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
};

/** True when `bytes[start, end)` begins with a UTF-8 byte order mark. */
export const startsWithBom = (bytes: Uint8Array, start: number, end: number): boolean =>
  end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf;
