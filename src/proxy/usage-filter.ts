/**
 * The client's side of a rewritten request (streaming-usage injection): a dispatch handler wrapped around the
 * exchange that takes out of the response what the rewrite added (the observer's `ResponseFilter`), plus the
 * header rules that go with a rewritten exchange. Fail-open: a filter that throws is dropped and the rest of the
 * stream passes unfiltered.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Controller, Exchange } from './exchange.ts';
import { upstreamRequestHeaders } from './headers.ts';
import type { ResponseFilter } from './tap.ts';

/** The filter reads plain bytes: the upstream must not compress the answer. */
const dropAcceptEncoding: ReadonlySet<string> = new Set(['accept-encoding']);
/** The filtered answer is shorter than the upstream's: its length is no longer known up front. */
const dropContentLength: ReadonlySet<string> = new Set(['content-length']);

/**
 * Upstream headers for a patched body: no `Accept-Encoding`, and the `Content-Length` of the patched body
 * (the client's counted the original).
 */
export const patchedRequestHeaders = (
  rawHeaders: readonly string[],
  connection: string | undefined,
  extra: Readonly<Record<string, string>> | undefined,
  body: Buffer,
): string[] => {
  const headers = upstreamRequestHeaders(rawHeaders, connection, extra, dropAcceptEncoding);
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'content-length') headers[i + 1] = String(body.length);
  }
  return headers;
};

/** What the filter needs of the handler it wraps (the exchange). */
export type FilteredExchange = Pick<
  Exchange,
  | 'onRequestStart'
  | 'onBodySent'
  | 'onRequestSent'
  | 'onResponseStart'
  | 'onResponseData'
  | 'onResponseEnd'
  | 'onResponseError'
  | 'writeTail'
  | 'dropResponseHeaders'
>;

export class UsageFilterHandler implements Dispatcher.DispatchHandler {
  readonly #next: FilteredExchange;
  readonly #onError: (error: unknown) => void;
  #filter: ResponseFilter | undefined;

  constructor(next: FilteredExchange, filter: ResponseFilter, onError: (error: unknown) => void) {
    this.#next = next;
    this.#filter = filter;
    this.#onError = onError;
    next.dropResponseHeaders = dropContentLength;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#next.onRequestStart(controller, context);
  }

  onBodySent(chunk: Buffer): void {
    this.#next.onBodySent(chunk);
  }

  onRequestSent(): void {
    this.#next.onRequestSent();
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode >= 200 && (statusCode !== 200 || headers['content-encoding'] !== undefined)) {
      // The filter only understands an uncompressed success stream; anything else passes untouched.
      this.#filter = undefined;
      this.#next.dropResponseHeaders = undefined;
    }
    this.#next.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const filter = this.#filter;
    if (filter === undefined) {
      this.#next.onResponseData(controller, chunk);
      return;
    }
    let out: Uint8Array;
    try {
      out = filter.push(chunk);
    } catch (error) {
      // Fail open: a broken filter must not cut the stream. From here on the client gets the upstream's bytes
      // unfiltered (the usage members it did not ask for included); what the filter held back of the current
      // event is lost, which is the smaller harm.
      this.#onError(error);
      this.#filter = undefined;
      out = chunk;
    }
    if (out.length > 0) this.#next.onResponseData(controller, out);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    const filter = this.#filter;
    if (filter !== undefined) {
      let tail: Uint8Array = new Uint8Array(0);
      try {
        tail = filter.flush();
      } catch (error) {
        this.#onError(error);
      }
      if (tail.length > 0) this.#next.writeTail(tail);
    }
    this.#next.onResponseEnd(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.#next.onResponseError(controller, error);
  }
}
