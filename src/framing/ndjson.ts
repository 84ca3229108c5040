/**
 * Newline-delimited JSON (Ollama `application/x-ndjson`, Cohere v1 `application/stream+json`): one frame per
 * LF-terminated line, a trailing CR removed, blank lines skipped. The JSON itself is not parsed here.
 * A final line without LF is emitted only when the body ended cleanly (it is whole); a cut body's last line
 * is discarded as possibly partial. A line over `maxFrameBytes` is skipped up to its LF and counted.
 */
import { asBuffer, ByteAccumulator, isBlank, startsWithBom } from './bytes.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

const LF = 0x0a;
const CR = 0x0d;

export class NdjsonDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  readonly #line = new ByteAccumulator();
  #skippingLine = false;
  #firstLine = true;
  #dropped = 0;

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#line.length;
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    const buf = asBuffer(chunk);
    let i = 0;
    while (i < n) {
      const eol = buf.indexOf(LF, i);
      if (eol === -1) {
        this.#stash(buf, i, n);
        return;
      }
      if (this.#line.length > 0 || this.#skippingLine) {
        this.#stash(buf, i, eol);
        this.#takeStashedLine();
      } else if (eol - i > this.#max) {
        this.#dropped += 1;
      } else {
        this.#emit(buf, i, eol);
      }
      i = eol + 1;
    }
  }

  end(clean: boolean): void {
    if (clean && (this.#line.length > 0 || this.#skippingLine)) this.#takeStashedLine();
    this.#line.clear();
    this.#skippingLine = false;
  }

  #stash(buf: Uint8Array, start: number, end: number): void {
    if (this.#skippingLine) return;
    if (this.#line.length + (end - start) > this.#max) {
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
      this.#dropped += 1;
      return;
    }
    const line = this.#line.view();
    this.#emit(line, 0, line.length);
    this.#line.clear();
  }

  #emit(buf: Buffer, start: number, end: number): void {
    if (this.#firstLine) {
      this.#firstLine = false;
      if (startsWithBom(buf, start, end)) start += 3;
    }
    if (end > start && buf[end - 1] === CR) end -= 1;
    if (isBlank(buf, start, end)) return;
    this.#onFrame({ event: undefined, text: buf.toString('utf8', start, end), messageType: undefined });
  }
}

export const createNdjsonDecoder = (options: FrameDecoderOptions): FrameDecoder => new NdjsonDecoder(options);
