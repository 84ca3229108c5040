/**
 * The response side of one call's capture: content decoding (capped) ─► framing (per-frame cap) ─► the adapter's
 * parser. The first failure is reported under its stage (`onFail`) and stops the pipeline (as does the owner's
 * `stop` when the call failed elsewhere): from there no more bytes are decoded or frames parsed. Counts model-output chunks for the call's timing:
 * one per frame the adapter marks as output, stamped with the `at` of the latest response chunk.
 */
import type {
  Frame,
  Framing,
  OutputSignal,
  ParsedRequest,
  ParsedResponse,
  ParseOptions,
  ProviderAdapter,
  ResponseHead,
  ResponseParser,
} from '../adapter.ts';
import type { TelemetryStage } from '../call-observer.ts';
import type { Limits } from '../config/schema.ts';
import { createFrameDecoder, type FrameDecoder } from '../framing/index.ts';
import { type ContentDecoder, createContentDecoder } from './content-decoding.ts';

export interface ResponsePipelineOptions {
  readonly limits: Limits;
  readonly parseOptions: ParseOptions;
}

export type PipelineFailure = (stage: TelemetryStage, error: unknown) => void;

/** Hears each output chunk as it ends (`CallObservation.outputChunk`). */
export interface OutputListener {
  readonly outputChunk?: ((at: number) => void) | undefined;
}

export class ResponsePipeline implements OutputSignal {
  readonly #onFail: PipelineFailure;
  readonly #listener: OutputListener | undefined;
  /** Every stage was built (a stage may still have reported a failure without throwing: see the decoder). */
  readonly built: boolean = false;
  #content: ContentDecoder | undefined;
  #frames: FrameDecoder | undefined;
  #parser: ResponseParser | undefined;
  #stopped = false;
  /**
   * `at` of the latest response chunk: what an output frame is stamped with. Compressed bodies decode
   * asynchronously, so their frames get the stamp of the latest compressed chunk received by then — never
   * earlier than the bytes that produced them.
   */
  #at: number;
  #frameSeq = 0;
  #lastOutputFrame = -1;
  outputChunks = 0;
  firstOutput: number | undefined = undefined;

  /**
   * Builds the stages for this response head. A stage that cannot be built is reported under its own stage and
   * stops the pipeline; the stages built before it are kept, so the parser can still report what it saw.
   */
  constructor(
    adapter: ProviderAdapter,
    request: ParsedRequest,
    head: ResponseHead,
    options: ResponsePipelineOptions,
    at: number,
    onFail: PipelineFailure,
    listener?: OutputListener,
  ) {
    this.#onFail = onFail;
    this.#listener = listener;
    this.#at = at;
    const { limits, parseOptions } = options;
    let framing: Framing;
    let parser: ResponseParser;
    let frames: FrameDecoder;
    try {
      framing = adapter.framing(request, head);
      parser = adapter.createParser(request, head, parseOptions);
    } catch (error) {
      this.#fail('parse', error);
      return;
    }
    try {
      frames = createFrameDecoder(framing, {
        maxFrameBytes: limits.maxFrameBytes,
        onFrame: (frame) => this.#onFrame(frame),
      });
    } catch (error) {
      this.#fail('framing', error);
      return;
    }
    this.#parser = parser;
    this.#frames = frames;
    try {
      this.#content = createContentDecoder(head.headers['content-encoding'], {
        maxDecodedBytes: limits.maxDecodedBytes,
        onData: (bytes) => this.#onDecoded(bytes),
        onError: (error) => this.#fail('decode', error),
      });
    } catch (error) {
      this.#fail('decode', error);
      return;
    }
    this.built = true;
  }

  /** A response chunk as received (possibly compressed). */
  push(chunk: Uint8Array, at: number): void {
    const content = this.#content;
    if (this.#stopped || content === undefined) return;
    this.#at = at;
    try {
      content.push(chunk);
    } catch (error) {
      this.#fail('decode', error);
    }
  }

  /** The body ended: lets the decoder drain (a promise when it decodes asynchronously). */
  end(): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    try {
      return this.#content?.end();
    } catch (error) {
      this.#fail('decode', error);
      return undefined;
    }
  }

  /** Stops decoding and parsing for good (the call failed somewhere); what was parsed stays readable. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    // Stop the decompressor now rather than inflate bytes nobody reads.
    try {
      this.#content?.abort();
    } catch {
      // Nothing more to do for this copy.
    }
  }

  /**
   * Ends framing and parsing. `bodyWhole`: the upstream body ended cleanly and nothing cut the copy. Returns the
   * parser's facts, undefined when no parser was built or it failed to finish.
   */
  finish(bodyWhole: boolean): ParsedResponse | undefined {
    const frames = this.#frames;
    if (frames !== undefined && !this.#stopped) {
      try {
        frames.end(bodyWhole);
      } catch (error) {
        this.#fail('framing', error);
      }
    }
    const parser = this.#parser;
    if (parser === undefined) return undefined;
    try {
      // After a failure the parser still reports what it saw, as an incomplete body.
      return parser.finish(bodyWhole && !this.#stopped);
    } catch (error) {
      this.#fail('parse', error);
      return undefined;
    }
  }

  /** The decoder stopped at its cap. */
  get decodeTruncated(): boolean {
    return this.#content?.truncated === true;
  }

  /** Something was left out of the parse: a cap on decoding or on a frame. */
  get truncated(): boolean {
    return (
      this.#content?.truncated === true || (this.#frames !== undefined && this.#frames.droppedFrames > 0)
    );
  }

  /** One output chunk per frame, however often the adapter signals within it. */
  output(): void {
    if (this.#lastOutputFrame === this.#frameSeq) return;
    this.#lastOutputFrame = this.#frameSeq;
    this.outputChunks += 1;
    this.firstOutput ??= this.#at;
    this.#listener?.outputChunk?.(this.#at);
  }

  /** The first failure of this pipeline: reported under its stage, then the pipeline stops. */
  #fail(stage: TelemetryStage, error: unknown): void {
    if (this.#stopped) return;
    this.#onFail(stage, error);
    this.stop();
  }

  #onDecoded(bytes: Uint8Array): void {
    const frames = this.#frames;
    if (this.#stopped || frames === undefined) return;
    try {
      frames.push(bytes);
    } catch (error) {
      // Parser errors are caught in #onFrame, so what lands here is the decoder's own.
      this.#fail('framing', error);
    }
  }

  #onFrame(frame: Frame): void {
    const parser = this.#parser;
    if (this.#stopped || parser === undefined) return;
    this.#frameSeq += 1;
    try {
      parser.push(frame, this);
    } catch (error) {
      this.#fail('parse', error);
    }
  }
}
