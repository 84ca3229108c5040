/**
 * A whole (non-streaming) body as one frame: bytes are accumulated up to `maxFrameBytes` and emitted at
 * `end`, cut or not — a cut body simply fails the adapter's `JSON.parse`, while a complete non-JSON error
 * body (HTML, plain text) still reaches the adapter. An empty body emits nothing.
 *
 * A body over the limit is not held: it is streamed through a member skimmer, and if it is a JSON object
 * the frame is that object with its large top-level members (embedding vectors, …) left out, so the small
 * ones (`model`, `usage`) still arrive. Anything else over the limit is dropped and counted.
 */
import { ByteAccumulator, startsWithBom } from './bytes.ts';
import { JsonMemberSkimmer, SMALL_MEMBER_BYTES } from './json-members.ts';
import type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

export class JsonBodyDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #onFrame: FrameHandler;
  readonly #body = new ByteAccumulator();
  #skimmer: JsonMemberSkimmer | undefined;
  #ended = false;
  #dropped = 0;

  constructor(options: FrameDecoderOptions) {
    this.#max = options.maxFrameBytes;
    this.#onFrame = options.onFrame;
  }

  get bufferedBytes(): number {
    return this.#body.length + (this.#skimmer?.bufferedBytes ?? 0);
  }

  get droppedFrames(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    if (this.#skimmer !== undefined) {
      this.#skimmer.push(chunk);
      return;
    }
    if (this.#body.length + chunk.length > this.#max) {
      const skimmer = new JsonMemberSkimmer(Math.min(SMALL_MEMBER_BYTES, this.#max), this.#max);
      skimmer.push(this.#body.view());
      this.#body.clear();
      skimmer.push(chunk);
      this.#skimmer = skimmer;
      return;
    }
    this.#body.append(chunk, 0, chunk.length);
  }

  end(_clean: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    let text: string | undefined;
    if (this.#skimmer !== undefined) {
      text = this.#skimmer.end();
      this.#skimmer = undefined;
      if (text === undefined) this.#dropped += 1;
    } else if (this.#body.length > 0) {
      const length = this.#body.length;
      const start = startsWithBom(this.#body.view(), 0, length) ? 3 : 0;
      text = this.#body.text(start, length);
    }
    this.#body.clear();
    if (text !== undefined) this.#onFrame({ event: undefined, text, messageType: undefined });
  }
}

export const createJsonBodyDecoder = (options: FrameDecoderOptions): FrameDecoder =>
  new JsonBodyDecoder(options);
