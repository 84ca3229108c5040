/**
 * The capture tap: turns the copy of one call's bytes into an `LlmCall` and hands it to the observer.
 *
 *   request bytes ─► RequestCopy (bounded, shared budget) ─► JSON ─► adapter.parseRequest
 *   response bytes ─► ResponsePipeline: content decoding (capped) ─► framing (per-frame cap) ─► adapter parser
 *   end ─► LlmCall (facts + timing + transport) ─► observation.finish ─► log fields
 *
 * Fail-open everywhere: no method throws to the forwarding core. The first failure of a call is reported
 * once through `onError(stage, error)`, parsing of that call stops, and the call is still finished with a
 * record marked truncated, so it is counted rather than lost. Per-call state is O(1): the request copy
 * (capped at `maxFrameBytes`) and the one frame being assembled; frames are never kept. This file holds the
 * call's timing stamps, its failure latch and the record; the two bodies' mechanics live in `request-copy.ts`
 * and `response-pipeline.ts`.
 *
 * Size: the call's latch, stamps and record (fallback included) depend on each other; the bodies' mechanics
 * are in request-copy.ts and response-pipeline.ts.
 */
import type { ParsedRequest, ParseOptions, ProviderAdapter, ResponseHead } from '../adapter.ts';
import type { CallObservation, CallObserver, TelemetryStage } from '../call-observer.ts';
import type { Limits, RouteConfig } from '../config/schema.ts';
import type { LogFields } from '../log.ts';
import type { CallContext, CallEnd, CallTap, RequestRewrite, TapFactory } from '../proxy/tap.ts';
import type { LlmCall, Operation } from '../record.ts';
import { buildLlmCall, type CaptureState, fallbackRequest } from './call-record.ts';
import { type CaptureErrorCode, wrapError } from './errors.ts';
import { readRequestBody } from './request-body.ts';
import { RequestCopy, type RequestCopyBudget } from './request-copy.ts';
import { ResponsePipeline } from './response-pipeline.ts';
import { failOpenFilter, planUsageInjection } from './usage-injection.ts';

export type { RequestCopyBudget } from './request-copy.ts';

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
  /** The adapter injects streaming usage into this call's request (a POST on a route that allows it). */
  readonly rewritesRequest: boolean;
  readonly #adapter: ProviderAdapter;
  readonly #context: CallContext;
  readonly #operation: Operation;
  readonly #observation: CallObservation;
  readonly #options: CaptureTapOptions;

  readonly #requestCopy: RequestCopy;
  /** The request copy was cut, or reading it stopped at the cap. */
  #requestTruncated = false;
  #request: ParsedRequest | undefined;
  /** The request facts were read from a finished body (not early, from a partial one). */
  #requestFinal = false;
  /** The whole body the usage-injection plan already `JSON.parse`d, and the value it got. */
  #planned: { readonly bytes: Buffer; readonly value: unknown } | undefined;

  #status: number | undefined;
  #response: ResponsePipeline | undefined;

  #upstreamRequestSent: number | undefined;
  #upstreamFirstByte: number | undefined;
  #clientFirstByte: number | undefined;

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
    this.#requestCopy = new RequestCopy(requestBudget, options.limits.maxFrameBytes);
    this.#options = options;
    this.#context = context;
    this.#adapter = adapter;
    this.#operation = operation;
    this.#observation = observation;
    this.upstreamHeaders = observation.upstreamHeaders;
    this.rewritesRequest =
      adapter.streamUsage !== undefined &&
      context.route.streamUsage !== 'passthrough' &&
      context.target.method === 'POST';
  }

  rewriteRequest(body: Buffer): RequestRewrite | undefined {
    const injection = this.#adapter.streamUsage;
    if (!this.rewritesRequest || injection === undefined) return undefined;
    const { id } = this.#adapter;
    try {
      const plan = planUsageInjection(body, injection, this.#context.target, (value) => {
        this.#planned = { bytes: body, value };
      });
      if (plan === undefined) return undefined;
      const onFilterError = (error: unknown): void =>
        this.#report('parse', wrapError('ADAPTER_FAILED', `${id} usage filter`, error));
      return { body: plan.body, filter: failOpenFilter(plan.filter, onFilterError) };
    } catch (error) {
      // The patch is adapter code: if it fails, the request goes as the client sent it.
      this.#report('parse', wrapError('ADAPTER_FAILED', `${id} usage patch`, error));
      return undefined;
    }
  }

  requestBody(chunk: Uint8Array): void {
    try {
      this.#requestCopy.append(chunk);
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
    if (this.#failed || this.#ended || this.#response !== undefined) return;
    try {
      const request = this.#readRequest(false);
      const head: ResponseHead = { status, headers, contentType: headers['content-type'] };
      const response = new ResponsePipeline(
        this.#adapter,
        request,
        head,
        this.#options,
        at,
        (stage, error) => this.#fail(stage, error),
        this.#observation,
      );
      this.#response = response;
      if (response.built && this.#observation.responding !== undefined) {
        try {
          this.#observation.responding(request, status, at);
        } catch (error) {
          this.#report('observer', wrapError('OBSERVER_FAILED', 'observer responding', error));
        }
      }
    } catch (error) {
      this.#fail('parse', error);
    }
  }

  responseBody(chunk: Uint8Array, at: number): void {
    if (this.#ended) return;
    this.#upstreamFirstByte ??= at;
    this.#response?.push(chunk, at);
  }

  clientFirstByte(at: number): void {
    this.#clientFirstByte ??= at;
  }

  end(result: CallEnd): LogFields | Promise<LogFields | undefined> | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    const pending = this.#failed ? undefined : this.#response?.end();
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
    const bytes = final ? copy.view() : undefined;
    if (bytes !== undefined) {
      const planned = this.#planned;
      this.#planned = undefined;
      if (planned !== undefined && this.#isPlannedBody(planned.bytes, bytes)) {
        // What readRequestBody would return: the same bytes, parsed whole the same way.
        body = planned.value;
      } else {
        const read = readRequestBody(bytes, {
          contentEncoding: headerText(this.#context.requestHeaders['content-encoding']),
          maxBytes: this.#options.limits.maxFrameBytes,
          // Captured content needs the conversation; facts alone do not.
          wholeBody: this.#options.parseOptions.captureContent,
          prefix: copy.truncated,
        });
        body = read.body;
        if (read.truncated || copy.truncated) this.#requestTruncated = true;
      }
    }
    if (final) {
      this.#requestFinal = true;
      copy.release();
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

  /**
   * The copy is exactly the body the plan parsed whole, and readRequestBody would parse it whole too: no content
   * coding to undo, not cut (the plan parsed only bodies up to 64 KB that open with `{`, so no BOM and no skim).
   */
  #isPlannedBody(planned: Buffer, copy: Buffer): boolean {
    return (
      this.#context.requestHeaders['content-encoding'] === undefined &&
      !this.#requestCopy.truncated &&
      copy.equals(planned)
    );
  }

  #fail(stage: TelemetryStage, error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#report(stage, wrapError(codeFor[stage], `${this.#adapter.id} ${stage}`, error));
    // Parsing of this call is over.
    this.#response?.stop();
  }

  #report(stage: TelemetryStage, error: unknown): void {
    reportTo(this.#options, stage, error);
  }

  #finish(result: CallEnd): LogFields | undefined {
    try {
      return this.#finishCall(result);
    } finally {
      // Whatever happened, this call's share of the request-copy budget goes back.
      this.#requestCopy.release();
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
        this.#state(this.#request ?? fallbackRequest(this.#operation), undefined, true),
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
    const response = this.#response;
    const bodyWhole = result.complete && !result.copyTruncated && response?.decodeTruncated !== true;
    const parsed = response?.finish(bodyWhole);
    const request = this.#readRequest(true);
    return this.#state(
      request,
      parsed,
      this.#failed || this.#requestTruncated || response?.truncated === true,
    );
  }

  #state(request: ParsedRequest, parsed: CaptureState['parsed'], truncated: boolean): CaptureState {
    const response = this.#response;
    return {
      adapter: this.#adapter,
      context: this.#context,
      request,
      parsed,
      httpStatus: this.#status,
      stamps: {
        upstreamRequestSent: this.#upstreamRequestSent,
        upstreamFirstByte: this.#upstreamFirstByte,
        clientFirstByte: this.#clientFirstByte,
        firstOutput: response?.firstOutput,
      },
      outputChunks: response?.outputChunks ?? 0,
      truncated,
    };
  }
}

/** The error sink failing must not break the call either. */
const reportTo = (options: CaptureTapOptions, stage: TelemetryStage, error: unknown): void => {
  try {
    options.onError(stage, error);
  } catch {
    // Nothing more to do.
  }
};

/** One tap per LLM call; calls the adapter does not recognise as LLM calls get no tap and no telemetry. */
export const createCaptureTapFactory = (options: CaptureTapOptions): TapFactory => {
  const requestBudget: RequestCopyBudget = { used: 0, max: options.limits.maxRequestCopyTotalBytes };
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
        reportTo(options, 'parse', wrapError('ADAPTER_FAILED', 'adapter operationFor', error));
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
        reportTo(options, 'observer', wrapError('OBSERVER_FAILED', 'observer start', error));
        return undefined;
      }
    },
  };
};
