/**
 * One proxied exchange, and the innermost undici dispatch handler: it writes the upstream's answer to the
 * client byte for byte, with backpressure (a slow client pauses the upstream) and cancellation (a client that
 * goes away aborts the upstream at once), and answers transport failures. Everything else wraps it: the usage
 * filter and the tap feed are handlers around it, the access log hears its end (`ExchangeEnding`).
 *
 * A class rather than a closure per callback: the state lives in one object and the callbacks on the prototype,
 * instead of a dozen closures allocated per request.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Timeouts } from '../config/schema.ts';
import { type ErrorCode, errorBody, errorCatalogue } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redactText } from '../redact.ts';
import { clientResponseHeaders } from './headers.ts';
import type { RouteMatch } from './router.ts';
import { awaitHead, type DeferredHead, flushHeadLater, stopAwaitingHead } from './socket-policy.ts';
import { now } from './tap.ts';
import { errorCodeFor, transportCode } from './upstream-errors.ts';

export type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

export type RequestBody = Buffer | IncomingMessage | AsyncIterable<Buffer> | null;

/** What the forwarder knows of an exchange once it is over: the access log's facts. */
export interface ExchangeFacts {
  readonly method: string;
  readonly match: RouteMatch;
  readonly startedAt: number;
  /** Undefined until the upstream answered (or llmtap answered an error). */
  readonly status: number | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Told once when an exchange is over: the client got all of it (`complete`), or it failed. */
export interface ExchangeEnding {
  exchangeEnded(exchange: ExchangeFacts, complete: boolean, transportError: string | undefined): void;
}

/** What every exchange of one forwarder shares. */
export interface ExchangeSettings {
  readonly dispatcher: Dispatcher;
  readonly timeouts: Timeouts;
  readonly logger: Logger;
  /** True once SIGTERM arrived: responses ask clients to close their connections. */
  readonly draining: () => boolean;
}

export class Exchange implements Dispatcher.DispatchHandler, DeferredHead, ExchangeFacts {
  readonly method: string;
  readonly match: RouteMatch;
  readonly startedAt: number;
  status: number | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** Response headers not to pass to the client (set by a wrapper that changes the body). */
  dropResponseHeaders: ReadonlySet<string> | undefined = undefined;
  /** Who hears the end; set once by the forwarder before dispatch. */
  ending: ExchangeEnding | undefined = undefined;
  /** True once the client went away before the response finished: nothing more is sent. */
  clientGone = false;

  readonly #settings: ExchangeSettings;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  /** Kept here: Node detaches `req.socket` once a streamed request body has been read to its end. */
  readonly #clientSocket: IncomingMessage['socket'];
  readonly #idleMs: number;
  #finished = false;
  #controller: Controller | undefined = undefined;
  #upstreamEnded = false;
  #resumeOnDrain: (() => void) | undefined = undefined;

  constructor(settings: ExchangeSettings, req: IncomingMessage, res: ServerResponse, match: RouteMatch) {
    this.#settings = settings;
    this.#req = req;
    this.#res = res;
    this.match = match;
    this.startedAt = now();
    this.#clientSocket = req.socket;
    this.#idleMs = match.route.config.idleTimeoutMs ?? settings.timeouts.idleMs;
    this.method = req.method ?? 'GET';
    // One listener for both endings (rather than an `end` callback as well): the response closes right after it
    // finished (Node emits 'close' on the next tick), or without finishing when the client went away.
    res.on('close', () => this.#onClientClose());
  }

  /** Sends the request upstream; `handler` is this exchange or a wrapper around it. */
  dispatch(body: RequestBody, rawHeaders: string[], handler: Dispatcher.DispatchHandler): void {
    if (this.clientGone) return;
    const { dispatcher, timeouts } = this.#settings;
    const { route, upstreamPath, search } = this.match;
    dispatcher.dispatch(
      {
        origin: route.origin,
        path: upstreamPath + search,
        method: this.method,
        headers: rawHeaders,
        body,
        headersTimeout: timeouts.upstreamHeadersMs,
        bodyTimeout: this.#idleMs,
        // Never follow redirects: the client gets the 3xx as the upstream sent it.
        maxRedirections: 0,
      } as Dispatcher.DispatchOptions,
      handler,
    );
  }

  #onClientClose(): void {
    if (this.#res.writableFinished) {
      if (this.#upstreamEnded) this.#end(true, undefined);
      return;
    }
    this.clientGone = true;
    this.#controller?.abort(new Error('client disconnected'));
    this.#end(false, 'CLIENT_ABORTED');
  }

  onRequestStart(controller: Controller, _context?: unknown): void {
    this.#controller = controller;
    if (this.clientGone) controller.abort(new Error('client disconnected'));
  }

  onBodySent(chunk: Buffer): void {
    this.bytesIn += chunk.length;
  }

  onRequestSent(): void {
    awaitHead(this.#clientSocket, this);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    _headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    // Informational answers (103 Early Hints…) precede the real one: not forwarded (1xx are per hop), and
    // writing them as the head would make the final response a second head, which aborts the call.
    if (statusCode < 200) return;
    const res = this.#res;
    const clientSocket = this.#clientSocket;
    stopAwaitingHead(clientSocket, this);
    // The head's write re-arms the idle timer for the full period; the period is this route's.
    if (clientSocket.timeout !== this.#idleMs) clientSocket.setTimeout(this.#idleMs);
    this.status = statusCode;
    const out = clientResponseHeaders(
      (controller.rawHeaders ?? []) as (Buffer | string)[],
      this.dropResponseHeaders,
    );
    // HTTP/2 has no Connection header (its session ends with GOAWAY when llmtap drains).
    if (this.#settings.draining() && this.#req.httpVersionMajor !== 2) out.push('connection', 'close');
    if (statusMessage !== undefined && statusMessage !== '') res.statusMessage = statusMessage;
    // The upstream's headers only: Node would otherwise add a Date the upstream did not send.
    res.sendDate = false;
    res.writeHead(statusCode, out);
    flushHeadLater(this);
  }

  flushHeadIfNoBody(): void {
    const res = this.#res;
    if (this.bytesOut === 0 && !res.writableEnded && !res.destroyed) res.flushHeaders();
  }

  onResponseData(controller: Controller, chunk: Uint8Array): void {
    const res = this.#res;
    const ok = res.write(chunk);
    this.bytesOut += chunk.length;
    if (!ok) {
      controller.pause();
      this.#resumeOnDrain ??= () => controller.resume();
      res.once('drain', this.#resumeOnDrain);
    }
  }

  /** Bytes a wrapper still had to give once the upstream ended (no backpressure: the end follows at once). */
  writeTail(bytes: Uint8Array): void {
    this.#res.write(bytes);
    this.bytesOut += bytes.length;
  }

  onResponseEnd(_controller?: Controller, _trailers?: IncomingHttpHeaders): void {
    this.#upstreamEnded = true;
    this.#res.end();
  }

  onResponseError(_controller: unknown, error: Error): void {
    if (this.clientGone) return;
    const { route } = this.match;
    const transport = transportCode(error);
    this.#settings.logger.warn('upstream error', {
      route: route.config.prefix,
      upstream: route.address,
      code: transport,
    });
    // Redacted: transport messages may quote a URL or proxy credentials the app should not see echoed.
    this.#answerError(
      errorCodeFor(transport),
      redactText(`upstream ${route.address}: ${error.message}`),
      transport,
    );
  }

  /** A bug on the way to dispatch: answer 502 rather than leave the client waiting for the idle timeout. */
  internalError(error: unknown): void {
    this.#settings.logger.error('request could not be forwarded', {
      route: this.match.route.config.prefix,
      error,
    });
    this.#answerError('LLMTAP_INTERNAL', errorCatalogue.LLMTAP_INTERNAL.description, 'LLMTAP_INTERNAL');
  }

  /** An error llmtap found before dispatching (no upstream request was made): answered with its own code. */
  refuse(code: ErrorCode, message: string): void {
    this.#settings.logger.warn('request not forwarded', { route: this.match.route.config.prefix, code });
    this.#answerError(code, message, code);
  }

  #answerError(code: ErrorCode, message: string, transport: string): void {
    const res = this.#res;
    if (!res.headersSent && !this.clientGone) {
      const body = errorBody(code, message);
      this.status = errorCatalogue[code].status;
      res.writeHead(this.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    } else {
      // Mid-stream failure: the client must see the stream fail, never a clean end.
      res.destroy();
    }
    this.#end(false, transport);
  }

  #end(complete: boolean, transportError: string | undefined): void {
    stopAwaitingHead(this.#clientSocket, this);
    if (this.#finished) return;
    this.#finished = true;
    this.ending?.exchangeEnded(this, complete, transportError);
  }

  /** The client's request, for the forwarder's body reading and header building. */
  get req(): IncomingMessage {
    return this.#req;
  }
}
