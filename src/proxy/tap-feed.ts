/**
 * Feeding the tap: a dispatch handler wrapped around the exchange (or around its usage filter) that hands the
 * call's observer a copy of what passes — the request bytes as the client sent them, the response head and
 * bytes as the upstream sent them, the timing stamps — always after the bytes went on, through `guardTap` so
 * an observer can never fail or slow the call. At the end it closes the tap and passes its log fields on.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AccessLog } from './access-log.ts';
import type { Controller, Exchange, ExchangeEnding, ExchangeFacts } from './exchange.ts';
import {
  type CallContext,
  type CallLogFields,
  type CallTap,
  now,
  type RequestRewrite,
  type TapFactory,
} from './tap.ts';
import { guardTap } from './tap-guard.ts';

/** Response headers for observers: lower-case names, repeated headers joined with `, `. */
const observedHeaders = (headers: IncomingHttpHeaders): Readonly<Record<string, string>> => {
  for (const name in headers) {
    // undici gives repeated headers as arrays: only then is a copy needed.
    if (typeof headers[name] !== 'string') {
      const joined: Record<string, string> = {};
      for (const key in headers) {
        const value = headers[key];
        if (value !== undefined) joined[key] = typeof value === 'string' ? value : value.join(', ');
      }
      return joined;
    }
  }
  return headers as Readonly<Record<string, string>>;
};

type CallTargetShape = CallContext['target'];

/** The request as it goes upstream; its query is parsed on first read (few adapters read it). */
class CallTarget implements CallTargetShape {
  readonly method: string;
  readonly path: string;
  readonly #search: string;
  #query: URLSearchParams | undefined;
  constructor(method: string, path: string, search: string) {
    this.method = method;
    this.path = path;
    this.#search = search;
  }
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.#search);
    return this.#query;
  }
}

/** What the feed reads of the exchange it observes. */
export type ObservedExchange = Pick<Exchange, 'match' | 'method' | 'startedAt' | 'bytesOut' | 'req'>;

export class TapFeed implements Dispatcher.DispatchHandler, ExchangeEnding {
  readonly tap: CallTap;
  readonly #exchange: ObservedExchange;
  readonly #log: AccessLog | undefined;
  /** The handler this one wraps: the exchange, or a wrapper around it; set before dispatch. */
  #next: Dispatcher.DispatchHandler;
  /** False once the tap got the request body whole (before a rewrite): undici's copy is then not the client's. */
  #copyRequest = true;
  #firstByteSent = false;
  /** Hears an end still running after the exchange (the copy is parsed late): the server's drain waits for it. */
  readonly #trackPending: ((end: Promise<unknown>) => void) | undefined;

  /**
   * Opens this call's tap; undefined when nothing observes it. `onError` hears an observer that throws; the call
   * goes on without it.
   */
  static open(
    factory: TapFactory,
    exchange: ObservedExchange & Dispatcher.DispatchHandler,
    log: AccessLog | undefined,
    onError: (error: unknown) => void,
    maxCopyBytes: number,
    trackPending?: (end: Promise<unknown>) => void,
  ): TapFeed | undefined {
    try {
      const { match, method, startedAt } = exchange;
      const { route, upstreamPath, search } = match;
      // Only observers need the call's context (its query parse showed in forwarding-only profiles).
      const context: CallContext = {
        route: route.config,
        target: new CallTarget(method, upstreamPath, search),
        upstreamUrl: route.originUrl,
        requestHeaders: exchange.req.headers,
        start: startedAt,
      };
      const opened = factory.open(context);
      return opened === undefined
        ? undefined
        : new TapFeed(guardTap(opened, onError, maxCopyBytes), exchange, log, trackPending);
    } catch (error) {
      onError(error);
      return undefined;
    }
  }

  constructor(
    tap: CallTap,
    exchange: ObservedExchange & Dispatcher.DispatchHandler,
    log: AccessLog | undefined,
    trackPending?: (end: Promise<unknown>) => void,
  ) {
    this.tap = tap;
    this.#exchange = exchange;
    this.#next = exchange;
    this.#log = log;
    this.#trackPending = trackPending;
  }

  /** Wraps `next` (the exchange or a wrapper around it) and returns this feed, the handler to dispatch. */
  around(next: Dispatcher.DispatchHandler): this {
    this.#next = next;
    return this;
  }

  /** True when the observer may rewrite the request: its body is then read whole first. */
  get rewritesRequest(): boolean {
    return this.tap.rewritesRequest === true;
  }

  /**
   * The observer's rewrite of the client's whole body, if it makes one. The tap then gets the client's body
   * here, not the rewritten one undici sends.
   */
  rewrite(body: Buffer): RequestRewrite | undefined {
    const rewrite = this.tap.rewriteRequest?.(body);
    if (rewrite !== undefined) {
      this.tap.requestBody(body);
      this.#copyRequest = false;
    }
    return rewrite;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#next.onRequestStart?.(controller, context);
  }

  onBodySent(chunk: Buffer): void {
    this.#next.onBodySent?.(chunk);
    if (this.#copyRequest) this.tap.requestBody(chunk);
  }

  onRequestSent(): void {
    this.#next.onRequestSent?.();
    this.tap.requestEnd();
    this.tap.upstreamRequestSent(now());
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    const at = now();
    this.#next.onResponseStart?.(controller, statusCode, headers, statusMessage);
    if (statusCode >= 200) this.tap.responseHead(statusCode, observedHeaders(headers), at);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const at = now();
    this.#next.onResponseData?.(controller, chunk);
    if (!this.#firstByteSent && this.#exchange.bytesOut > 0) {
      this.#firstByteSent = true;
      this.tap.clientFirstByte(at);
    }
    this.tap.responseBody(chunk, at);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.#next.onResponseError?.(controller, error);
  }

  exchangeEnded(exchange: ExchangeFacts, complete: boolean, transportError: string | undefined): void {
    const result = this.tap.end({ at: now(), complete, transportError, copyTruncated: false });
    if (result instanceof Promise) this.#trackPending?.(result);
    const log = this.#log;
    if (log === undefined) return;
    if (result instanceof Promise) {
      result.then(
        (fields) => log.write(exchange, fields, transportError),
        () => log.write(exchange, undefined, transportError),
      );
    } else {
      log.write(exchange, result as CallLogFields | undefined, transportError);
    }
  }
}
