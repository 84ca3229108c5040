/**
 * Forwards one request to its upstream with undici's dispatch API and streams the answer back byte for byte,
 * with backpressure (a slow client pauses the upstream) and cancellation (a client that goes away aborts
 * the upstream at once). Observers get a copy through the tap; they can never fail or slow the call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ProviderAdapter, ResponseFilter } from '../adapter.ts';
import type { Limits, Timeouts } from '../config/schema.ts';
import { type ErrorCode, errorBody, errorCatalogue } from '../errors.ts';
import { type Logger, logsAt } from '../log.ts';
import { redactText } from '../redact.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { prefixThenRest, readBody, readChunkedPrefix } from './request-body.ts';
import type { RouteMatch } from './router.ts';
import { type CallContext, type CallTap, now, type TapFactory } from './tap.ts';
import { guardTap } from './tap-guard.ts';
import { errorCodeFor, transportCode } from './upstream-errors.ts';
import { planUsageInjection } from './usage-injection.ts';

export interface ForwarderOptions {
  readonly dispatcher: Dispatcher;
  readonly tapFactory: TapFactory | undefined;
  readonly adapterFor: (match: RouteMatch) => ProviderAdapter | undefined;
  readonly limits: Limits;
  readonly timeouts: Timeouts;
  readonly logger: Logger;
  /** Called when an observer throws; the call goes on without it. */
  readonly onTapError: (error: unknown) => void;
  /** True once SIGTERM arrived: responses ask clients to close their connections. */
  readonly draining: () => boolean;
}

/** Request bodies up to this size are read whole before dispatch: one write upstream, cheaper than a stream. */
const bufferBodyBelow = 256 * 1024;

const dropForFilteredResponse: ReadonlySet<string> = new Set(['content-length']);
const dropAcceptEncoding: ReadonlySet<string> = new Set(['accept-encoding']);

export type Forwarder = (req: IncomingMessage, res: ServerResponse, match: RouteMatch) => void;

/** What every call of one forwarder shares. */
interface Shared {
  readonly options: ForwarderOptions;
  /** False when the logger drops info lines: the request line is then not even built. */
  readonly logRequests: boolean;
}

type RequestBody = Buffer | IncomingMessage | AsyncIterable<Buffer> | null;

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestStart']>>[0];

export const createForwarder = (options: ForwarderOptions): Forwarder => {
  const shared: Shared = { options, logRequests: logsAt(options.logger, 'info') };
  return (req, res, match) => new Call(shared, req, res, match).start();
};

/**
 * One proxied call, and its own undici dispatch handler. A class rather than a closure per callback: the state
 * lives in one object and the callbacks on the prototype, instead of a dozen closures allocated per request.
 */
class Call implements Dispatcher.DispatchHandler {
  private readonly shared: Shared;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly match: RouteMatch;
  private readonly startedAt: number;
  /** Kept here: Node detaches `req.socket` once a streamed request body has been read to its end. */
  private readonly clientSocket: IncomingMessage['socket'];
  private readonly idleMs: number;
  private readonly method: string;
  private tap: CallTap | undefined = undefined;
  private injection: ProviderAdapter['streamUsage'] = undefined;
  private filter: ResponseFilter | undefined = undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private status: number | undefined = undefined;
  private finished = false;
  private controllerRef: Controller | undefined = undefined;
  private clientGone = false;
  private firstByteSent = false;
  private upstreamEnded = false;
  private resumeOnDrain: (() => void) | undefined = undefined;

  constructor(shared: Shared, req: IncomingMessage, res: ServerResponse, match: RouteMatch) {
    this.shared = shared;
    this.req = req;
    this.res = res;
    this.match = match;
    this.startedAt = now();
    this.clientSocket = req.socket;
    this.idleMs = match.route.config.idleTimeoutMs ?? shared.options.timeouts.idleMs;
    this.method = req.method ?? 'GET';
  }

  start(): void {
    const { options } = this.shared;
    const { req, res, match, method } = this;
    const { route, upstreamPath, search } = match;
    if (options.tapFactory !== undefined) {
      try {
        // Only observers need the call's context (its query parse showed in forwarding-only profiles).
        const context: CallContext = {
          route: route.config,
          target: { method, path: upstreamPath, query: new URLSearchParams(search) },
          upstreamUrl: route.originUrl,
          requestHeaders: req.headers,
          start: this.startedAt,
        };
        const opened = options.tapFactory.open(context);
        this.tap =
          opened === undefined
            ? undefined
            : guardTap(opened, options.onTapError, options.limits.maxCopyBytes);
      } catch (error) {
        options.onTapError(error);
      }
    }
    const { tap } = this;

    const contentLength = req.headers['content-length'];
    const declaredLength = contentLength === undefined ? undefined : Number(contentLength);
    const hasBody =
      declaredLength !== undefined ? declaredLength > 0 : req.headers['transfer-encoding'] !== undefined;
    let adapter: ProviderAdapter | undefined;
    try {
      adapter = tap === undefined ? undefined : options.adapterFor(match);
    } catch (error) {
      // No adapter means no usage injection: the request goes as sent.
      options.onTapError(error);
    }
    const injection =
      tap !== undefined && route.config.streamUsage !== 'passthrough' && method === 'POST'
        ? adapter?.streamUsage
        : undefined;
    this.injection = injection;
    const bufferWhole =
      hasBody &&
      declaredLength !== undefined &&
      (declaredLength <= bufferBodyBelow || injection !== undefined)
        ? declaredLength <= Math.max(bufferBodyBelow, injection ? options.limits.maxInjectBodyBytes : 0)
        : false;

    // One listener for both endings (rather than an `end` callback as well): the response closes right after it
    // finished (Node emits 'close' on the next tick), or without finishing when the client went away.
    res.on('close', () => this.onClientClose());

    if (!hasBody) {
      tap?.requestEnd();
      try {
        this.send(null, undefined);
      } catch (error) {
        this.internalError(error);
      }
      return;
    }
    if (declaredLength === undefined) {
      // Chunked: small bodies are read whole first, so bad chunked encoding never starts an upstream request
      // (the parser answers 400); the body is then re-framed with a Content-Length.
      const cap = Math.max(bufferBodyBelow, injection === undefined ? 0 : options.limits.maxInjectBodyBytes);
      readChunkedPrefix(req, cap)
        .then((read) => {
          if (read === undefined || this.clientGone) return;
          if ('complete' in read) this.withBody(read.complete);
          else this.send(prefixThenRest(read.prefix, req), undefined);
        })
        .catch((error: unknown) => this.internalError(error));
      return;
    }
    if (!bufferWhole) {
      try {
        this.send(req, undefined);
      } catch (error) {
        this.internalError(error);
      }
      return;
    }
    readBody(req, declaredLength)
      .then((body) => this.withBody(body))
      .catch((error: unknown) => this.internalError(error));
  }

  private withBody(body: Buffer | undefined): void {
    if (body === undefined || this.clientGone) return;
    const { injection } = this;
    let plan: ReturnType<typeof planUsageInjection>;
    try {
      const { upstreamPath, search } = this.match;
      plan =
        injection === undefined
          ? undefined
          : planUsageInjection(body, injection, {
              method: this.method,
              path: upstreamPath,
              query: new URLSearchParams(search),
            });
    } catch (error) {
      // The patch is adapter code: if it fails, the request goes as the client sent it.
      this.shared.options.onTapError(error);
      plan = undefined;
    }
    if (plan === undefined) {
      this.send(body, undefined);
      return;
    }
    // The tap must see what the client sent, not the patched body.
    this.tap?.requestBody(body);
    const patchedTap = this.tap;
    if (patchedTap !== undefined) this.tap = withoutRequestCopy(patchedTap);
    this.send(plan.body, plan.filter);
  }

  private send(body: RequestBody, filter: ResponseFilter | undefined): void {
    const { req } = this;
    const rawHeaders = upstreamRequestHeaders(
      req.rawHeaders,
      req.headers.connection,
      this.tap?.upstreamHeaders,
      filter === undefined ? undefined : dropAcceptEncoding,
    );
    if (filter !== undefined && body instanceof Buffer) {
      for (let i = 0; i < rawHeaders.length; i += 2) {
        if ((rawHeaders[i] as string).toLowerCase() === 'content-length')
          rawHeaders[i + 1] = String(body.length);
      }
    }
    this.dispatch(body, rawHeaders, filter);
  }

  private dispatch(body: RequestBody, rawHeaders: string[], filter: ResponseFilter | undefined): void {
    if (this.clientGone) return;
    this.filter = filter;
    const { options } = this.shared;
    const { route, upstreamPath, search } = this.match;
    options.dispatcher.dispatch(
      {
        origin: route.origin,
        path: upstreamPath + search,
        method: this.method,
        headers: rawHeaders,
        body,
        headersTimeout: options.timeouts.upstreamHeadersMs,
        bodyTimeout: this.idleMs,
        // Never follow redirects: the client gets the 3xx as the upstream sent it.
        maxRedirections: 0,
      } as Dispatcher.DispatchOptions,
      this,
    );
  }

  private onClientClose(): void {
    if (this.res.writableFinished) {
      if (this.upstreamEnded) this.endTap(true);
      return;
    }
    this.clientGone = true;
    this.controllerRef?.abort(new Error('client disconnected'));
    this.endTap(false, 'CLIENT_ABORTED');
  }

  onRequestStart(controller: Controller): void {
    this.controllerRef = controller;
    if (this.clientGone) controller.abort(new Error('client disconnected'));
  }

  onBodySent(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.tap?.requestBody(chunk);
  }

  onRequestSent(): void {
    // Until the upstream answers, the client's connection is silent by design (the model is thinking):
    // that wait is bounded by upstreamHeadersMs, not by the client-side idle timeout.
    awaitingHead.set(this.clientSocket, this);
    this.tap?.requestEnd();
    this.tap?.upstreamRequestSent(now());
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    _headers: unknown,
    statusMessage?: string,
  ): void {
    // Informational answers (103 Early Hints…) precede the real one: not forwarded (1xx are per hop), and
    // writing them as the head would make the final response a second head, which aborts the call.
    if (statusCode < 200) return;
    const { res, tap, clientSocket } = this;
    this.stopAwaitingHead();
    // The head's write re-arms the idle timer for the full period; the period is this route's.
    if (clientSocket.timeout !== this.idleMs) clientSocket.setTimeout(this.idleMs);
    this.status = statusCode;
    const at = now();
    const raw = (controller.rawHeaders ?? []) as (Buffer | string)[];
    const lowerCased: Record<string, string> | undefined =
      tap === undefined && this.filter === undefined ? undefined : {};
    let out = clientResponseHeaders(
      raw,
      this.filter === undefined ? undefined : dropForFilteredResponse,
      lowerCased,
    );
    if (this.filter !== undefined && (statusCode !== 200 || lowerCased?.['content-encoding'] !== undefined)) {
      // The filter only understands an uncompressed success stream; anything else passes untouched.
      this.filter = undefined;
      out = clientResponseHeaders(raw);
    }
    if (this.shared.options.draining()) out.push('connection', 'close');
    if (lowerCased !== undefined) tap?.responseHead(statusCode, lowerCased, at);
    if (statusMessage !== undefined && statusMessage !== '') res.statusMessage = statusMessage;
    // The upstream's headers only: Node would otherwise add a Date the upstream did not send.
    res.sendDate = false;
    res.writeHead(statusCode, out);
    // The first model token may be seconds away, so the head must not wait for it; but when body bytes
    // arrived in the same socket read (every JSON answer), head and body go out in one write instead of two.
    flushHeadLater(this);
  }

  /** The head's own write, when no body bytes followed it in the same turn. */
  flushHeadIfNoBody(): void {
    const { res } = this;
    if (this.bytesOut === 0 && !res.writableEnded && !res.destroyed) res.flushHeaders();
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const { res, filter } = this;
    const at = now();
    let ok: boolean;
    if (filter === undefined) {
      ok = res.write(chunk);
      this.bytesOut += chunk.length;
    } else {
      let out: Uint8Array;
      try {
        out = filter.push(chunk);
      } catch (error) {
        // Fail open: a broken filter must not cut the stream. From here on the client gets the upstream's
        // bytes unfiltered (the usage members it did not ask for included); what the filter held back of
        // the current event is lost, which is the smaller harm.
        this.shared.options.onTapError(error);
        this.filter = undefined;
        out = chunk;
      }
      ok = out.length === 0 ? true : res.write(out);
      this.bytesOut += out.length;
    }
    if (!this.firstByteSent && this.bytesOut > 0) {
      this.firstByteSent = true;
      this.tap?.clientFirstByte(at);
    }
    this.tap?.responseBody(chunk, at);
    if (!ok) {
      controller.pause();
      this.resumeOnDrain ??= () => controller.resume();
      res.once('drain', this.resumeOnDrain);
    }
  }

  onResponseEnd(): void {
    const { res, filter } = this;
    if (filter !== undefined) {
      let tail: Uint8Array = new Uint8Array(0);
      try {
        tail = filter.flush();
      } catch (error) {
        this.shared.options.onTapError(error);
      }
      if (tail.length > 0) {
        res.write(tail);
        this.bytesOut += tail.length;
      }
    }
    this.upstreamEnded = true;
    res.end();
  }

  onResponseError(_controller: unknown, error: Error): void {
    if (this.clientGone) return;
    const { route } = this.match;
    const transport = transportCode(error);
    this.shared.options.logger.warn('upstream error', {
      route: route.config.prefix,
      upstream: route.address,
      code: transport,
    });
    // Redacted: transport messages may quote a URL or proxy credentials the app should not see echoed.
    this.answerError(
      errorCodeFor(transport),
      redactText(`upstream ${route.address}: ${error.message}`),
      transport,
    );
  }

  /** A bug on the way to dispatch: answer 502 rather than leave the client waiting for the idle timeout. */
  private internalError(error: unknown): void {
    this.shared.options.logger.error('request could not be forwarded', {
      route: this.match.route.config.prefix,
      error,
    });
    this.answerError('LLMTAP_INTERNAL', errorCatalogue.LLMTAP_INTERNAL.description, 'LLMTAP_INTERNAL');
  }

  private answerError(code: ErrorCode, message: string, transport: string): void {
    const { res } = this;
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
    this.endTap(false, transport);
  }

  private stopAwaitingHead(): void {
    if (awaitingHead.get(this.clientSocket) === this) awaitingHead.delete(this.clientSocket);
  }

  private endTap(complete: boolean, transportError?: string): void {
    this.stopAwaitingHead();
    if (this.finished) return;
    this.finished = true;
    const { tap } = this;
    if (tap === undefined) {
      this.logLine(undefined, transportError);
      return;
    }
    const result = tap.end({ at: now(), complete, transportError, copyTruncated: false });
    if (result instanceof Promise) {
      result.then(
        (fields) => this.logLine(fields, transportError),
        () => this.logLine(undefined, transportError),
      );
    } else {
      this.logLine(result, transportError);
    }
  }

  private logLine(fields: Readonly<Record<string, unknown>> | undefined, transportError?: string): void {
    if (!this.shared.logRequests) return;
    const { route, upstreamPath } = this.match;
    const line = {
      method: this.method,
      route: route.config.prefix,
      path: upstreamPath,
      upstream: route.address,
      status: this.status ?? 0,
      durationMs: Math.round((now() - this.startedAt) * 1000) / 1000,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
    const { logger } = this.shared.options;
    if (transportError !== undefined) logger.info('request', { ...line, error: transportError, ...fields });
    else logger.info('request', fields === undefined ? line : { ...line, ...fields });
  }
}

/**
 * Client sockets whose call waits for the upstream's response head, by that call. The idle timer stays armed
 * meanwhile and the server ignores it firing for these sockets (`awaitingUpstreamHead`): the same rule as
 * disarming it for the wait and re-arming it at the head, without two timer updates per request.
 */
const awaitingHead = new WeakMap<object, Call>();

/** True while the call on this client socket waits for its upstream's response head. */
export const awaitingUpstreamHead = (socket: object): boolean => awaitingHead.has(socket);

/**
 * Heads waiting for the end of this turn, checked in one microtask: no closure per response, and the check still
 * runs once the synchronous part of the turn (the same socket read's body bytes) is over.
 */
let headsToFlush: Call[] = [];
const flushHeads = (): void => {
  const calls = headsToFlush;
  headsToFlush = [];
  for (const call of calls) {
    try {
      call.flushHeadIfNoBody();
    } catch (error) {
      // Surfaces as it would have from a microtask of its own, without holding back the other heads.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
};
const flushHeadLater = (call: Call): void => {
  if (headsToFlush.push(call) === 1) queueMicrotask(flushHeads);
};

/** After the tap got the original request body, ignore undici's copy of the patched one. */
const withoutRequestCopy = (tap: CallTap): CallTap => ({
  upstreamHeaders: tap.upstreamHeaders,
  requestBody: () => {},
  requestEnd: () => tap.requestEnd(),
  upstreamRequestSent: (at) => tap.upstreamRequestSent(at),
  responseHead: (status, headers, at) => tap.responseHead(status, headers, at),
  responseBody: (chunk, at) => tap.responseBody(chunk, at),
  clientFirstByte: (at) => tap.clientFirstByte(at),
  end: (result) => tap.end(result),
});
