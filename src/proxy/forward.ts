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
import type { Logger } from '../log.ts';
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

export const createForwarder = (options: ForwarderOptions): Forwarder => {
  const { dispatcher, logger, limits, timeouts } = options;

  return (req, res, match) => {
    const start = now();
    // Kept here: Node detaches `req.socket` once a streamed request body has been read to its end.
    const clientSocket = req.socket;
    const { route, upstreamPath, search } = match;
    const idleMs = route.config.idleTimeoutMs ?? timeouts.idleMs;
    const method = req.method ?? 'GET';
    const target = { method, path: upstreamPath, query: new URLSearchParams(search) };
    const context: CallContext = {
      route: route.config,
      target,
      upstreamUrl: route.originUrl,
      requestHeaders: req.headers,
      start,
    };
    let tap: CallTap | undefined;
    if (options.tapFactory !== undefined) {
      try {
        const opened = options.tapFactory.open(context);
        tap = opened === undefined ? undefined : guardTap(opened, options.onTapError, limits.maxCopyBytes);
      } catch (error) {
        options.onTapError(error);
      }
    }

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
    const bufferWhole =
      hasBody &&
      declaredLength !== undefined &&
      (declaredLength <= bufferBodyBelow || injection !== undefined)
        ? declaredLength <= Math.max(bufferBodyBelow, injection ? limits.maxInjectBodyBytes : 0)
        : false;

    const send = (
      body: Buffer | IncomingMessage | AsyncIterable<Buffer> | null,
      filter: ResponseFilter | undefined,
    ): void => {
      const rawHeaders = upstreamRequestHeaders(
        req.rawHeaders,
        req.headers.connection,
        tap?.upstreamHeaders,
        filter === undefined ? undefined : dropAcceptEncoding,
      );
      if (filter !== undefined && body instanceof Buffer) {
        for (let i = 0; i < rawHeaders.length; i += 2) {
          if ((rawHeaders[i] as string).toLowerCase() === 'content-length')
            rawHeaders[i + 1] = String(body.length);
        }
      }
      dispatch(body, rawHeaders, filter);
    };

    let bytesIn = 0;
    let bytesOut = 0;
    let status: number | undefined;
    let finished = false;
    let controllerRef: { abort(reason: Error): void; resume(): void; pause(): void } | undefined;
    let clientGone = false;
    let firstByteSent = false;

    const logLine = (
      fields: Readonly<Record<string, unknown>> | undefined,
      transportError?: string,
    ): void => {
      logger.info('request', {
        method,
        route: route.config.prefix,
        path: upstreamPath,
        upstream: route.address,
        status: status ?? 0,
        durationMs: Math.round((now() - start) * 1000) / 1000,
        bytesIn,
        bytesOut,
        ...(transportError === undefined ? {} : { error: transportError }),
        ...fields,
      });
    };

    const endTap = (complete: boolean, transportError?: string): void => {
      if (finished) return;
      finished = true;
      if (tap === undefined) {
        logLine(undefined, transportError);
        return;
      }
      const result = tap.end({ at: now(), complete, transportError, copyTruncated: false });
      if (result instanceof Promise) {
        result.then(
          (fields) => logLine(fields, transportError),
          () => logLine(undefined, transportError),
        );
      } else {
        logLine(result, transportError);
      }
    };

    const answerError = (code: ErrorCode, message: string, transport: string): void => {
      if (!res.headersSent && !clientGone) {
        const body = errorBody(code, message);
        status = errorCatalogue[code].status;
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      } else {
        // Mid-stream failure: the client must see the stream fail, never a clean end.
        res.destroy();
      }
      endTap(false, transport);
    };

    res.once('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      controllerRef?.abort(new Error('client disconnected'));
      endTap(false, 'CLIENT_ABORTED');
    });

    const dispatch = (
      body: Buffer | IncomingMessage | AsyncIterable<Buffer> | null,
      rawHeaders: string[],
      filter: ResponseFilter | undefined,
    ): void => {
      if (clientGone) return;
      let resumeOnDrain: (() => void) | undefined;
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          controllerRef = controller;
          if (clientGone) controller.abort(new Error('client disconnected'));
        },
        onBodySent(chunk) {
          bytesIn += chunk.length;
          tap?.requestBody(chunk);
        },
        onRequestSent() {
          // Until the upstream answers, the client's connection is silent by design (the model is thinking):
          // that wait is bounded by upstreamHeadersMs, not by the client-side idle timeout.
          clientSocket.setTimeout(0);
          tap?.requestEnd();
          tap?.upstreamRequestSent(now());
        },
        onResponseStart(controller, statusCode, _headers, statusMessage) {
          // Informational answers (103 Early Hints…) precede the real one: not forwarded (1xx are per hop), and
          // writing them as the head would make the final response a second head, which aborts the call.
          if (statusCode < 200) return;
          clientSocket.setTimeout(idleMs);
          status = statusCode;
          const at = now();
          const raw = (controller.rawHeaders ?? []) as (Buffer | string)[];
          const { headers: out, lowerCased } = clientResponseHeaders(
            raw,
            filter === undefined ? undefined : dropForFilteredResponse,
          );
          if (filter !== undefined && (statusCode !== 200 || lowerCased['content-encoding'] !== undefined)) {
            // The filter only understands an uncompressed success stream; anything else passes untouched.
            filter = undefined;
            const again = clientResponseHeaders(raw);
            out.length = 0;
            out.push(...again.headers);
          }
          if (options.draining()) out.push('connection', 'close');
          tap?.responseHead(statusCode, lowerCased, at);
          if (statusMessage !== undefined && statusMessage !== '') res.statusMessage = statusMessage;
          // The upstream's headers only: Node would otherwise add a Date the upstream did not send.
          res.sendDate = false;
          res.writeHead(statusCode, out);
          // The first model token may be seconds away, so the head must not wait for it; but when body bytes
          // arrived in the same socket read (every JSON answer), head and body go out in one write instead of two.
          queueMicrotask(() => {
            if (bytesOut === 0 && !res.writableEnded && !res.destroyed) res.flushHeaders();
          });
        },
        onResponseData(controller, chunk) {
          const at = now();
          let ok: boolean;
          if (filter === undefined) {
            ok = res.write(chunk);
            bytesOut += chunk.length;
          } else {
            let out: Uint8Array;
            try {
              out = filter.push(chunk);
            } catch (error) {
              // Fail open: a broken filter must not cut the stream. From here on the client gets the upstream's
              // bytes unfiltered (the usage members it did not ask for included); what the filter held back of
              // the current event is lost, which is the smaller harm.
              options.onTapError(error);
              filter = undefined;
              out = chunk;
            }
            ok = out.length === 0 ? true : res.write(out);
            bytesOut += out.length;
          }
          if (!firstByteSent && bytesOut > 0) {
            firstByteSent = true;
            tap?.clientFirstByte(at);
          }
          tap?.responseBody(chunk, at);
          if (!ok) {
            controller.pause();
            resumeOnDrain ??= () => controller.resume();
            res.once('drain', resumeOnDrain);
          }
        },
        onResponseEnd() {
          if (filter !== undefined) {
            let tail: Uint8Array = new Uint8Array(0);
            try {
              tail = filter.flush();
            } catch (error) {
              options.onTapError(error);
            }
            if (tail.length > 0) {
              res.write(tail);
              bytesOut += tail.length;
            }
          }
          res.end(() => endTap(true));
        },
        onResponseError(_controller, error) {
          if (clientGone) return;
          const transport = transportCode(error);
          logger.warn('upstream error', {
            route: route.config.prefix,
            upstream: route.address,
            code: transport,
          });
          // Redacted: transport messages may quote a URL or proxy credentials the app should not see echoed.
          answerError(
            errorCodeFor(transport),
            redactText(`upstream ${route.address}: ${error.message}`),
            transport,
          );
        },
      };
      dispatcher.dispatch(
        {
          origin: route.origin,
          path: upstreamPath + search,
          method,
          headers: rawHeaders,
          body,
          headersTimeout: timeouts.upstreamHeadersMs,
          bodyTimeout: idleMs,
          // Never follow redirects: the client gets the 3xx as the upstream sent it.
          maxRedirections: 0,
        } as Dispatcher.DispatchOptions,
        handler,
      );
    };

    /** A bug on the way to dispatch: answer 502 rather than leave the client waiting for the idle timeout. */
    const internalError = (error: unknown): void => {
      logger.error('request could not be forwarded', { route: route.config.prefix, error });
      answerError('LLMTAP_INTERNAL', errorCatalogue.LLMTAP_INTERNAL.description, 'LLMTAP_INTERNAL');
    };
    if (!hasBody) {
      tap?.requestEnd();
      try {
        send(null, undefined);
      } catch (error) {
        internalError(error);
      }
      return;
    }
    const withBody = (body: Buffer | undefined): void => {
      if (body === undefined || clientGone) return;
      let plan: ReturnType<typeof planUsageInjection>;
      try {
        plan = injection === undefined ? undefined : planUsageInjection(body, injection);
      } catch (error) {
        // The patch is adapter code: if it fails, the request goes as the client sent it.
        options.onTapError(error);
        plan = undefined;
      }
      if (plan === undefined) {
        send(body, undefined);
        return;
      }
      // The tap must see what the client sent, not the patched body.
      tap?.requestBody(body);
      const patchedTap = tap;
      if (patchedTap !== undefined) tap = withoutRequestCopy(patchedTap);
      send(plan.body, plan.filter);
    };
    if (declaredLength === undefined) {
      // Chunked: small bodies are read whole first, so bad chunked encoding never starts an upstream request
      // (the parser answers 400); the body is then re-framed with a Content-Length.
      const cap = Math.max(bufferBodyBelow, injection === undefined ? 0 : limits.maxInjectBodyBytes);
      readChunkedPrefix(req, cap)
        .then((read) => {
          if (read === undefined || clientGone) return;
          if ('complete' in read) withBody(read.complete);
          else send(prefixThenRest(read.prefix, req), undefined);
        })
        .catch(internalError);
      return;
    }
    if (!bufferWhole) {
      try {
        send(req, undefined);
      } catch (error) {
        internalError(error);
      }
      return;
    }
    readBody(req, declaredLength).then(withBody).catch(internalError);
  };
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
