/**
 * A protobuf writer for llmtap's span encoder (`span-encoding.ts`): append-only over one growable buffer, no
 * allocation per field (strings other than ASCII go through TextEncoder, as in the SDK's writer).
 */
import type { HrTime } from '@opentelemetry/api';

/** Wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

const TWO_32 = 4_294_967_296;

const utf8 = new TextEncoder();

/**
 * A length-delimited field reserves one byte for its length and moves its body when the length needs more
 * (the SDK's writer does the same).
 */
export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;
  #view: DataView;
  constructor(initialBytes = 64 * 1024) {
    this.buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.buf.buffer);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    this.resize(size);
  }

  /** A buffer of `size` bytes holding what was written so far (`size` ≥ `pos`). */
  resize(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.#view = new DataView(next.buffer);
  }

  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (value >= 0 && value < TWO_32) {
      let v = value >>> 0;
      while (v > 127) {
        buf[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    // int64 two's complement from a JS number (exact for every integral double in range).
    const abs = Math.abs(value);
    let low = abs >>> 0;
    let high = Math.floor(abs / TWO_32) >>> 0;
    if (value < 0) {
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 127) {
      buf[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.#view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /**
   * HrTime `[seconds, nanos]` as fixed64 nanoseconds: seconds split at 16 bits so that every partial
   * product stays below 2^53 (exact, no BigInt allocation).
   */
  hrTime(time: HrTime): void {
    this.ensure(8);
    const [seconds, nanos] = time;
    const fromLow = (seconds & 0xffff) * 1e9;
    const fromHigh = ((seconds / 0x10000) >>> 0) * 1e9; // × 2^16
    const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(fromLow / TWO_32) + ((fromHigh / 0x10000) >>> 0) + Math.floor(low / TWO_32);
    this.#view.setUint32(this.pos, low >>> 0, true);
    this.#view.setUint32(this.pos + 4, high >>> 0, true);
    this.pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** UTF-8 with its length; ASCII (nearly every string llmtap writes) is copied in one pass. */
  string(value: string): void {
    const length = value.length;
    const at = this.pos;
    this.varint(length);
    this.ensure(length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c > 127) {
        this.pos = at;
        this.bytes(utf8.encode(value));
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A lowercase hex id (trace or span id) as its bytes. */
  hexBytes(hex: string): void {
    const length = hex.length >>> 1;
    this.varint(length);
    this.ensure(length);
    const buf = this.buf;
    for (let i = 0; i < length; i++) buf[this.pos++] = (nibble(hex, 2 * i) << 4) | nibble(hex, 2 * i + 1);
  }

  /** Starts a length-delimited body; returns where its length goes (pass to `close`). */
  open(): number {
    this.ensure(1);
    return this.pos++;
  }

  close(at: number): void {
    const length = this.pos - at - 1;
    if (length < 128) {
      this.buf[at] = length;
      return;
    }
    let size = 1;
    for (let v = length; v > 127; v >>>= 7) size += 1;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = length;
    let p = at;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}

/** Same mapping as the SDK's hexToBinary (upper case tolerated). */
const nibble = (hex: string, i: number): number => {
  const c = hex.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return c - 55;
};

/**
 * A string field whose values repeat (attribute keys), kept as its encoded bytes (tag, length, UTF-8): copying
 * them is several times cheaper than writing the characters. At most `max` values are kept.
 */
export class EncodedStrings {
  readonly #field: number;
  readonly #max: number;
  readonly #encoded = new Map<string, Uint8Array>();
  readonly #scratch = new ProtoWriter(256);
  constructor(field: number, max: number) {
    this.#field = field;
    this.#max = max;
  }

  write(w: ProtoWriter, value: string): void {
    let bytes = this.#encoded.get(value);
    if (bytes === undefined) {
      const scratch = this.#scratch;
      scratch.pos = 0;
      scratch.tag(this.#field, BYTES);
      scratch.string(value);
      bytes = scratch.buf.subarray(0, scratch.pos);
      if (this.#encoded.size < this.#max) {
        bytes = bytes.slice();
        this.#encoded.set(value, bytes);
      }
    }
    w.ensure(bytes.length);
    w.buf.set(bytes, w.pos);
    w.pos += bytes.length;
  }
}
