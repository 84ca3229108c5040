/**
 * Server-sent events, per WHATWG HTML "Interpreting an event stream"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * a leading BOM is skipped; lines end in CRLF, LF or CR; `:` lines are comments; `data` lines are joined
 * with LF; `event` sets the type; a line without a colon is a field with an empty value; a blank line
 * dispatches, and an event with no `data` line is not dispatched. `id` and `retry` are recognised and ignored
 * (a `Frame` carries neither; reconnection is the client's business, not the tap's).
 *
 * End of body: the spec discards an unterminated final event. We do that only when the body was cut
 * (`end(false)`), where the event may be partial. When the body ended cleanly (`end(true)`) every byte of the
 * final event is here and only its blank line is missing — a server quirk — so we dispatch it rather than
 * lose what is usually the usage-bearing last event.
 *
 * Size limit: the bytes of the event being assembled (its field lines so far, including a partial line) are
 * capped at `maxFrameBytes`; past that, the rest of the event is skipped and it is counted as dropped.
 */
import { isAscii } from 'node:buffer';
import type { Frame } from '../adapter.ts';
import { asBuffer, ByteAccumulator, startsWithBom } from './bytes.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
/**
 * From this size on, an all-ASCII chunk is decoded once (latin1, a plain copy) and each field value is a
 * substring of that text — V8 makes those views without copying — instead of one UTF-8 decode per value. A
 * chunk of several events (a fast stream, or a reader that fell behind) is then one copy, not one per event.
 * Exact: on ASCII bytes latin1 and UTF-8 decode to the same string. Smaller chunks (one event each) keep the
 * per-value decode, which is already one copy.
 */
const WHOLE_CHUNK_TEXT_BYTES = 512;

const isData = (b: Uint8Array, s: number, n: number): boolean =>
  n === 4 && b[s] === 0x64 && b[s + 1] === 0x61 && b[s + 2] === 0x74 && b[s + 3] === 0x61;
const isEvent = (b: Uint8Array, s: number, n: number): boolean =>
  n === 5 &&
  b[s] === 0x65 &&
  b[s + 1] === 0x76 &&
  b[s + 2] === 0x65 &&
  b[s + 3] === 0x6e &&
  b[s + 4] === 0x74;

export class SseDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  /** The partial line carried over from the previous chunk. */
  readonly #line = new ByteAccumulator();
  /** The partial line blew the limit: skip bytes until its end. */
  #skippingLine = false;
  /** The previous chunk ended with CR: a leading LF in the next chunk belongs to that line end. */
  #pendingCrLf = false;
  #firstLine = true;
  #data = '';
  #hasData = false;
  #event: string | undefined = undefined;
  /** Bytes of the current event's completed lines. */
  #eventBytes = 0;
  #eventOverflow = false;
  #dropped = 0;
  /** The chunk being pushed is all ASCII (and large enough): values are cut from `#chunkText`. */
  #asciiChunk = false;
  /** The chunk being pushed, decoded once, made on its first value; dropped when `push` returns. */
  #chunkText: string | undefined = undefined;

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#line.length + this.#eventBytes;
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    const buf = asBuffer(chunk);
    this.#asciiChunk = n >= WHOLE_CHUNK_TEXT_BYTES && isAscii(buf);
    try {
      this.#pushLines(buf, n);
    } finally {
      this.#asciiChunk = false;
      this.#chunkText = undefined;
    }
  }

  #pushLines(buf: Buffer, n: number): void {
    let i = 0;
    if (this.#pendingCrLf) {
      this.#pendingCrLf = false;
      if (buf[0] === LF) i = 1;
    }
    // Native searches (memchr) for both terminators; CR is rare, so its position is found once per chunk.
    let nextCr = buf.indexOf(CR, i);
    let nextLf = buf.indexOf(LF, i);
    while (i < n) {
      // The blank line that ends an event sits right at `i`: checking that byte spares a native call per event.
      if (nextLf !== -1 && nextLf < i) nextLf = buf[i] === LF ? i : buf.indexOf(LF, i);
      if (nextCr !== -1 && nextCr < i) nextCr = buf.indexOf(CR, i);
      let eol = nextLf;
      if (nextCr !== -1 && (eol === -1 || nextCr < eol)) eol = nextCr;
      if (eol === -1) {
        this.#stash(buf, i, n);
        return;
      }
      if (this.#line.length > 0 || this.#skippingLine) {
        this.#stash(buf, i, eol);
        this.#takeStashedLine();
      } else {
        this.#completeLine(buf, i, eol, this.#asciiChunk);
      }
      if (buf[eol] === CR) {
        if (eol + 1 === n) this.#pendingCrLf = true;
        else if (buf[eol + 1] === LF) eol += 1;
      }
      i = eol + 1;
    }
  }

  end(clean: boolean): void {
    if (clean) {
      if (this.#line.length > 0 || this.#skippingLine) this.#takeStashedLine();
      this.#dispatch();
    }
    this.#line.clear();
    this.#skippingLine = false;
    this.#resetEvent();
  }

  #stash(buf: Uint8Array, start: number, end: number): void {
    if (this.#skippingLine) return;
    if (this.#eventBytes + this.#line.length + (end - start) > this.#max) {
      this.#skippingLine = true;
      this.#line.clear();
      return;
    }
    this.#line.append(buf, start, end);
  }

  #takeStashedLine(): void {
    if (this.#skippingLine) {
      this.#skippingLine = false;
      this.#firstLine = false;
      this.#spoilEvent();
      return;
    }
    const line = this.#line.view();
    this.#completeLine(line, 0, line.length, false);
    this.#line.clear();
  }

  /** `inChunk`: `buf` is the ASCII chunk being pushed, whose text `#chunkText` holds. */
  #completeLine(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (this.#firstLine) {
      this.#firstLine = false;
      if (startsWithBom(buf, start, end)) start += 3;
    }
    const len = end - start;
    if (len === 0) {
      this.#dispatch();
      return;
    }
    if (buf[start] === COLON) return;
    if (this.#eventOverflow) return;
    if (this.#eventBytes + len > this.#max) {
      this.#spoilEvent();
      return;
    }
    // A bounded scan, not indexOf: a colon-less line must not search the rest of the chunk (O(n²) per chunk).
    let colon = start;
    while (colon < end && buf[colon] !== COLON) colon++;
    const nameLen = colon - start;
    const isDataField = isData(buf, start, nameLen);
    if (!isDataField && !isEvent(buf, start, nameLen)) return;
    let valueStart = colon + 1;
    if (valueStart > end) valueStart = end;
    else if (buf[valueStart] === SPACE) valueStart += 1;
    const value = inChunk
      ? this.#chunkTextOf(buf).substring(valueStart, end)
      : buf.toString('utf8', valueStart, end);
    this.#eventBytes += len;
    if (isDataField) {
      if (this.#hasData) this.#data += `\n${value}`;
      else {
        this.#data = value;
        this.#hasData = true;
      }
    } else {
      this.#event = value;
    }
  }

  /** The ASCII chunk being pushed as text, decoded on its first value. */
  #chunkTextOf(buf: Buffer): string {
    let text = this.#chunkText;
    if (text === undefined) {
      text = buf.toString('latin1');
      this.#chunkText = text;
    }
    return text;
  }

  /** The event can no longer be delivered whole: drop what was gathered and skip to its blank line. */
  #spoilEvent(): void {
    this.#eventOverflow = true;
    this.#data = '';
    this.#hasData = false;
    this.#eventBytes = 0;
  }

  #dispatch(): void {
    if (this.#eventOverflow) {
      this.#dropped += 1;
      this.#resetEvent();
      return;
    }
    if (!this.#hasData) {
      this.#resetEvent();
      return;
    }
    const frame: Frame = {
      event: this.#event === '' ? undefined : this.#event,
      text: this.#data,
      messageType: undefined,
    };
    this.#resetEvent();
    this.#onFrame(frame);
  }

  #resetEvent(): void {
    this.#data = '';
    this.#hasData = false;
    this.#event = undefined;
    this.#eventBytes = 0;
    this.#eventOverflow = false;
  }
}

export const createSseDecoder = (options: FrameDecoderOptions): FrameDecoder => new SseDecoder(options);
