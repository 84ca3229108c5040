/**
 * A JSON array streamed element by element (Gemini `:streamGenerateContent` without `alt=sse` sends
 * `[{…},\r\n{…}]` as the elements are generated): each top-level element's JSON text becomes one frame.
 *
 * The scanner tracks only nesting depth and string/escape state, byte by byte, so brackets inside strings
 * never confuse it; it does not validate JSON (the adapter's `JSON.parse` does). A body that is a single
 * object rather than an array (an error answered to a streaming request) is emitted as one frame.
 * Anything else at the top level (an HTML error page) is skipped and counted once.
 */
import { asBuffer, ByteAccumulator } from './bytes.ts';
import {
  CLOSE_BRACKET,
  COMMA,
  isWhitespace,
  newValueScan,
  OPEN_BRACE,
  OPEN_BRACKET,
  scanValue,
  startValue,
  type ValueScan,
} from './json-scan.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

/** Where the scanner is, outside of an element. */
type Phase =
  /** Before the opening `[` (a BOM and whitespace are allowed). */
  | 'start'
  /** Inside the array, between elements. */
  | 'between'
  /** Inside an element. */
  | 'element'
  /** After the closing `]`, after a lone top-level object, or after garbage: ignore the rest. */
  | 'done';

export class JsonArrayDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  readonly #element = new ByteAccumulator();
  #phase: Phase = 'start';
  #startOffset = 0;
  /** The top level is one object, not an array: stop after it. */
  #single = false;
  readonly #value: ValueScan = newValueScan();
  #overflow = false;
  #dropped = 0;

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#element.length;
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    const buf = asBuffer(chunk);
    let i = 0;
    // Start of the current element inside this chunk, or -1 when no element is open.
    let elementStart = this.#phase === 'element' ? 0 : -1;
    while (i < n) {
      const b = buf[i];
      switch (this.#phase) {
        case 'start':
          if (b === OPEN_BRACE) {
            this.#single = true;
            this.#openElement(false);
            elementStart = i;
            continue;
          }
          if (b === OPEN_BRACKET) this.#phase = 'between';
          else if (!isWhitespace(b) && !this.#isBomByte(b)) this.#giveUp();
          this.#startOffset += 1;
          i += 1;
          break;
        case 'between':
          if (b === CLOSE_BRACKET) this.#phase = 'done';
          else if (b !== COMMA && !isWhitespace(b)) {
            this.#openElement(b !== OPEN_BRACE && b !== OPEN_BRACKET);
            elementStart = i;
            continue;
          }
          i += 1;
          break;
        case 'element': {
          const end = this.#scan(buf, i, n);
          if (end === -1) {
            this.#keep(buf, elementStart, n);
            return;
          }
          // The scalar case ends before its delimiter, which `between` then consumes.
          this.#closeElement(buf, elementStart, end);
          elementStart = -1;
          i = end;
          break;
        }
        case 'done':
          return;
      }
    }
  }

  end(clean: boolean): void {
    // An element still open at the end is incomplete: nothing to emit. It is a dropped frame only when the
    // body ended cleanly (so it was malformed); a cut body's last element being partial is no surprise.
    if (this.#phase === 'element' && clean) this.#dropped += 1;
    this.#element.clear();
    this.#phase = 'done';
  }

  #isBomByte(b: number | undefined): boolean {
    return (
      (this.#startOffset === 0 && b === 0xef) ||
      (this.#startOffset === 1 && b === 0xbb) ||
      (this.#startOffset === 2 && b === 0xbf)
    );
  }

  #giveUp(): void {
    this.#dropped += 1;
    this.#phase = 'done';
  }

  #openElement(scalar: boolean): void {
    this.#phase = 'element';
    startValue(this.#value, scalar);
    this.#overflow = false;
  }

  /** Scans element bytes from `i`; returns the index just past the element's end, or -1 if it goes on. */
  #scan(buf: Uint8Array, i: number, n: number): number {
    return scanValue(this.#value, buf, i, n, CLOSE_BRACKET);
  }

  #keep(buf: Uint8Array, start: number, end: number): void {
    if (this.#overflow) return;
    if (this.#element.length + (end - start) > this.#max) {
      this.#overflow = true;
      this.#element.clear();
      return;
    }
    this.#element.append(buf, start, end);
  }

  #closeElement(buf: Buffer, start: number, end: number): void {
    this.#phase = this.#single ? 'done' : 'between';
    let text: string | undefined;
    if (this.#overflow || this.#element.length + (end - start) > this.#max) this.#dropped += 1;
    else if (this.#element.length === 0) text = buf.toString('utf8', start, end);
    else {
      this.#element.append(buf, start, end);
      text = this.#element.text();
    }
    this.#element.clear();
    this.#overflow = false;
    if (text !== undefined) this.#onFrame({ event: undefined, text, messageType: undefined });
  }
}

export const createJsonArrayDecoder = (options: FrameDecoderOptions): FrameDecoder =>
  new JsonArrayDecoder(options);
