/**
 * A whole (non-streaming) body as one frame: bytes are accumulated up to `maxFrameBytes` and emitted at
 * `end`, cut or not — a cut body simply fails the adapter's `JSON.parse`, while a complete non-JSON error
 * body (HTML, plain text) still reaches the adapter. A body over the limit is dropped and counted.
 * An empty body emits nothing.
 */
import { ByteAccumulator, startsWithBom } from './bytes.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

export class JsonBodyDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  readonly #body = new ByteAccumulator();
  #overflow = false;
  #ended = false;
  #dropped = 0;

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#body.length;
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    if (this.#overflow || this.#ended) return;
    if (this.#body.length + chunk.length > this.#max) {
      this.#overflow = true;
      this.#dropped += 1;
      this.#body.clear();
      return;
    }
    this.#body.append(chunk, 0, chunk.length);
  }

  end(_clean: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const length = this.#body.length;
    if (this.#overflow || length === 0) return;
    const start = startsWithBom(this.#body.view(), 0, length) ? 3 : 0;
    const text = this.#body.text(start, length);
    this.#body.clear();
    this.#onFrame({ event: undefined, text, messageType: undefined });
  }
}

export const createJsonBodyDecoder = (options: FrameDecoderOptions): FrameDecoder =>
  new JsonBodyDecoder(options);
