/**
 * The capture tap: turns the copy of one call's bytes into an `LlmCall` and hands it to the observer.
 *
 *   request bytes ─► bounded copy ─► JSON ─► adapter.parseRequest
 *   response bytes ─► content decoding (capped) ─► framing (per-frame cap) ─► adapter parser ─► facts
 *   end ─► LlmCall (facts + timing + transport) ─► observation.finish ─► log fields
 *
 * Fail-open everywhere: no method throws to the forwarding core. The first failure of a call is reported
 * once through `onError(stage, error)`, parsing of that call stops, and the call is still finished with a
 * record marked truncated, so it is counted rather than lost. Per-call state is O(1): the request copy
 * (capped at `maxFrameBytes`) and the one frame being assembled; frames are never kept.
 */
import type {
  Frame,
  OutputSignal,
  ParsedRequest,
  ParsedResponse,
  ParseOptions,
  ProviderAdapter,
  ResponseHead,
  ResponseParser,
} from '../adapter.ts';
import type { CallObservation, CallObserver, TelemetryStage } from '../call-observer.ts';
import type { Limits, RouteConfig } from '../config/schema.ts';
import { ByteAccumulator } from '../framing/bytes.ts';
import { createFrameDecoder, type FrameDecoder } from '../framing/index.ts';
import type { LogFields } from '../log.ts';
import type { CallContext, CallEnd, CallTap, TapFactory } from '../proxy/tap.ts';
import type { LlmCall, Operation } from '../record.ts';
import { buildLlmCall, type CaptureState, fallbackRequest } from './call-record.ts';
import { type ContentDecoder, createContentDecoder } from './content-decoding.ts';
import { type CaptureErrorCode, wrapError } from './errors.ts';
import { readRequestBody } from './request-body.ts';

export interface CaptureTapOptions {
  readonly adapterFor: (route: RouteConfig) => ProviderAdapter | undefined;
  readonly observer: CallObserver;
  readonly limits: Limits;
  readonly parseOptions: ParseOptions;
  /** Told about the first failure of each call (and about observer failures); must not throw, but may. */
  readonly onError: (stage: TelemetryStage, error: unknown) => void;
}

/** The stable code reported for a failure at each stage. */
const codeFor: Readonly<Record<TelemetryStage, CaptureErrorCode>> = {
  decode: 'CONTENT_DECODING_FAILED',
  framing: 'FRAMING_FAILED',
  parse: 'ADAPTER_FAILED',
  pricing: 'OBSERVER_FAILED',
  export: 'OBSERVER_FAILED',
  observer: 'OBSERVER_FAILED',
};

const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(', ') : value;

export class CaptureTap implements CallTap {
  readonly upstreamHeaders: Readonly<Record<string, string>> | undefined;
  readonly #adapter: ProviderAdapter;
  readonly #context: CallContext;
  readonly #operation: Operation;
  readonly #observation: CallObservation;
  readonly #options: CaptureTapOptions;
  readonly #signal: OutputSignal = { output: () => this.#output() };

  #requestCopy: ByteAccumulator | undefined = new ByteAccumulator();
  /** Bytes of the shared request-copy budget this call holds; given back when the copy is dropped. */
  #requestReserved = 0;
  readonly #requestBudget: RequestCopyBudget;
  #requestTruncated = false;
  #request: ParsedRequest | undefined;
  /** The request facts were read from a finished body (not early, from a partial one). */
  #requestFinal = false;

  #status: number | undefined;
  #content: ContentDecoder | undefined;
  #frames: FrameDecoder | undefined;
  #parser: ResponseParser | undefined;

  #upstreamRequestSent: number | undefined;
  #upstreamFirstByte: number | undefined;
  #clientFirstByte: number | undefined;
  #firstOutput: number | undefined;
  /**
   * `at` of the latest response chunk: what an output frame is stamped with. Compressed bodies decode
   * asynchronously, so their frames get the stamp of the latest compressed chunk received by then — never
   * earlier than the bytes that produced them.
   */
  #at = 0;
  #outputChunks = 0;
  #frameSeq = 0;
  #lastOutputFrame = -1;

  #failed = false;
  #ended = false;

  constructor(
    options: CaptureTapOptions,
    context: CallContext,
    adapter: ProviderAdapter,
    operation: Operation,
    observation: CallObservation,
    requestBudget: RequestCopyBudget,
  ) {
    this.#requestBudget = requestBudget;
    this.#options = options;
    this.#context = context;
    this.#adapter = adapter;
    this.#operation = operation;
    this.#observation = observation;
    this.upstreamHeaders = observation.upstreamHeaders;
  }

  requestBody(chunk: Uint8Array): void {
    const copy = this.#requestCopy;
    if (copy === undefined || this.#requestTruncated) return;
    try {
      const budget = this.#requestBudget;
      const room = Math.min(this.#options.limits.maxFrameBytes - copy.length, budget.max - budget.used);
      const taken = Math.max(0, Math.min(room, chunk.length));
      budget.used += taken;
      this.#requestReserved += taken;
      if (chunk.length > room) {
        // Keep the prefix: the members sent before the cut can still be read (see readRequestBody).
        this.#requestTruncated = true;
        if (taken > 0) copy.append(chunk, 0, taken);
        return;
      }
      copy.append(chunk, 0, chunk.length);
    } catch (error) {
      this.#fail('parse', error);
    }
  }

  requestEnd(): void {
    if (this.#ended) return;
    try {
      this.#readRequest(true);
    } catch (error) {
      this.#fail('parse', error);
    }
  }

  upstreamRequestSent(at: number): void {
    this.#upstreamRequestSent ??= at;
  }

  responseHead(status: number, headers: Readonly<Record<string, string>>, at: number): void {
    this.#status = status;
    this.#upstreamFirstByte ??= at;
    this.#at = at;
    if (this.#failed || this.#ended || this.#parser !== undefined) return;
    let stage: TelemetryStage = 'parse';
    try {
      const request = this.#readRequest(false);
      const head: ResponseHead = { status, headers, contentType: headers['content-type'] };
      const framing = this.#adapter.framing(request, head);
      const parser = this.#adapter.createParser(request, head, this.#options.parseOptions);
      stage = 'framing';
      const frames = createFrameDecoder(framing, {
        maxFrameBytes: this.#options.limits.maxFrameBytes,
        onFrame: (frame) => this.#onFrame(frame),
      });
      stage = 'decode';
      this.#parser = parser;
      this.#frames = frames;
      this.#content = createContentDecoder(headers['content-encoding'], {
        maxDecodedBytes: this.#options.limits.maxDecodedBytes,
        onData: (bytes) => this.#onDecoded(bytes),
        onError: (error) => this.#fail('decode', error),
      });
      if (this.#observation.responding !== undefined) {
        try {
          this.#observation.responding(request, status, at);
        } catch (error) {
          this.#report('observer', wrapError('OBSERVER_FAILED', 'observer responding', error));
        }
      }
    } catch (error) {
      this.#fail(stage, error);
    }
  }

  responseBody(chunk: Uint8Array, at: number): void {
    if (this.#ended) return;
    this.#upstreamFirstByte ??= at;
    const content = this.#content;
    if (this.#failed || content === undefined) return;
    this.#at = at;
    try {
      content.push(chunk);
    } catch (error) {
      this.#fail('decode', error);
    }
  }

  clientFirstByte(at: number): void {
    this.#clientFirstByte ??= at;
  }

  end(result: CallEnd): LogFields | Promise<LogFields | undefined> | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    let pending: Promise<void> | undefined;
    try {
      if (!this.#failed) pending = this.#content?.end();
    } catch (error) {
      this.#fail('decode', error);
    }
    if (pending === undefined) return this.#finish(result);
    return pending.then(
      () => this.#finish(result),
      () => this.#finish(result),
    );
  }

  #readRequest(final: boolean): ParsedRequest {
    if (this.#request !== undefined && (this.#requestFinal || !final)) return this.#request;
    let body: unknown;
    const copy = this.#requestCopy;
    if (copy !== undefined && final) {
      const read = readRequestBody(copy.view(), {
        contentEncoding: headerText(this.#context.requestHeaders['content-encoding']),
        maxBytes: this.#options.limits.maxFrameBytes,
        // Captured content needs the conversation; facts alone do not.
        wholeBody: this.#options.parseOptions.captureContent,
        prefix: this.#requestTruncated,
      });
      body = read.body;
      if (read.truncated) this.#requestTruncated = true;
    }
    if (final) {
      this.#requestFinal = true;
      this.#dropRequestCopy();
    }
    const { target } = this.#context;
    try {
      this.#request = this.#adapter.parseRequest(this.#operation, target, body, this.#options.parseOptions);
    } catch (error) {
      this.#fail('parse', error);
      this.#request ??= fallbackRequest(this.#operation);
    }
    return this.#request;
  }

  #onDecoded(bytes: Uint8Array): void {
    const frames = this.#frames;
    if (this.#failed || frames === undefined) return;
    try {
      frames.push(bytes);
    } catch (error) {
      // Parser errors are caught in #onFrame, so what lands here is the decoder's own.
      if (!this.#failed) this.#fail('framing', error);
    }
  }

  #onFrame(frame: Frame): void {
    const parser = this.#parser;
    if (this.#failed || parser === undefined) return;
    this.#frameSeq += 1;
    try {
      parser.push(frame, this.#signal);
    } catch (error) {
      this.#fail('parse', error);
    }
  }

  /** One output chunk per frame, however often the adapter signals within it. */
  #output(): void {
    if (this.#lastOutputFrame === this.#frameSeq) return;
    this.#lastOutputFrame = this.#frameSeq;
    this.#outputChunks += 1;
    this.#firstOutput ??= this.#at;
    this.#observation.outputChunk?.(this.#at);
  }

  #dropRequestCopy(): void {
    this.#requestCopy = undefined;
    this.#requestBudget.used -= this.#requestReserved;
    this.#requestReserved = 0;
  }

  #fail(stage: TelemetryStage, error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#report(stage, wrapError(codeFor[stage], `${this.#adapter.id} ${stage}`, error));
    // Parsing of this call is over: stop the decompressor now rather than inflate bytes nobody reads.
    try {
      this.#content?.abort();
    } catch {
      // Nothing more to do for this copy.
    }
  }

  #report(stage: TelemetryStage, error: unknown): void {
    try {
      this.#options.onError(stage, error);
    } catch {
      // The error sink failing must not break the call either.
    }
  }

  #finish(result: CallEnd): LogFields | undefined {
    try {
      return this.#finishCall(result);
    } finally {
      // Whatever happened, this call's share of the request-copy budget goes back.
      this.#dropRequestCopy();
    }
  }

  #finishCall(result: CallEnd): LogFields | undefined {
    let call: LlmCall;
    try {
      call = buildLlmCall(this.#captureState(result), result);
    } catch (error) {
      this.#fail('parse', error);
      // Still account for the call, with only what the core itself knows.
      call = buildLlmCall(
        {
          adapter: this.#adapter,
          context: this.#context,
          request: this.#request ?? fallbackRequest(this.#operation),
          parsed: undefined,
          httpStatus: this.#status,
          stamps: this.#stamps(),
          outputChunks: this.#outputChunks,
          truncated: true,
        },
        result,
      );
    }
    try {
      return this.#observation.finish(call);
    } catch (error) {
      this.#report('observer', wrapError('OBSERVER_FAILED', 'observer finish', error));
      return undefined;
    }
  }

  /** Ends framing and parsing and gathers the call's state for the record. */
  #captureState(result: CallEnd): CaptureState {
    const content = this.#content;
    const frames = this.#frames;
    const bodyWhole = result.complete && !result.copyTruncated && content?.truncated !== true;
    if (frames !== undefined && !this.#failed) {
      try {
        frames.end(bodyWhole);
      } catch (error) {
        this.#fail('framing', error);
      }
    }
    let parsed: ParsedResponse | undefined;
    if (this.#parser !== undefined) {
      try {
        // After a failure the parser still reports what it saw, as an incomplete body.
        parsed = this.#parser.finish(bodyWhole && !this.#failed);
      } catch (error) {
        this.#fail('parse', error);
      }
    }
    const request = this.#readRequest(true);
    return {
      adapter: this.#adapter,
      context: this.#context,
      request,
      parsed,
      httpStatus: this.#status,
      stamps: this.#stamps(),
      outputChunks: this.#outputChunks,
      truncated:
        this.#failed ||
        this.#requestTruncated ||
        content?.truncated === true ||
        (frames !== undefined && frames.droppedFrames > 0),
    };
  }

  #stamps(): CaptureState['stamps'] {
    return {
      upstreamRequestSent: this.#upstreamRequestSent,
      upstreamFirstByte: this.#upstreamFirstByte,
      clientFirstByte: this.#clientFirstByte,
      firstOutput: this.#firstOutput,
    };
  }
}

/** One tap per LLM call; calls the adapter does not recognise as LLM calls get no tap and no telemetry. */
/** The request-copy bytes held by all in-flight calls of one factory (`limits.maxRequestCopyTotalBytes`). */
export interface RequestCopyBudget {
  used: number;
  readonly max: number;
}

export const createCaptureTapFactory = (options: CaptureTapOptions): TapFactory => {
  const requestBudget: RequestCopyBudget = { used: 0, max: options.limits.maxRequestCopyTotalBytes };
  const report = (stage: TelemetryStage, error: unknown): void => {
    try {
      options.onError(stage, error);
    } catch {
      // See CaptureTap#report.
    }
  };
  return {
    open(context: CallContext): CallTap | undefined {
      let adapter: ProviderAdapter | undefined;
      let operation: Operation | undefined;
      try {
        adapter = options.adapterFor(context.route);
        if (adapter === undefined) return undefined;
        operation = adapter.operationFor(context.target);
        if (operation === undefined) return undefined;
      } catch (error) {
        report('parse', wrapError('ADAPTER_FAILED', 'adapter operationFor', error));
        return undefined;
      }
      try {
        return new CaptureTap(
          options,
          context,
          adapter,
          operation,
          options.observer.start(context),
          requestBudget,
        );
      } catch (error) {
        report('observer', wrapError('OBSERVER_FAILED', 'observer start', error));
        return undefined;
      }
    },
  };
};
