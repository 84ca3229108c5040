/**
 * The data plane and admin listeners, wired to the router and the forwarder, with graceful drain.
 * Knows nothing about providers or telemetry: observers come in through a `TapFactory`.
 *
 * Size: every listener concern (HTTP/1.1, h2c, upgrades, CONNECT, parser errors, drain) is wired here; the
 * upstream dispatcher is built in proxy/upstream-agent.ts.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type HttpProxy from 'http-proxy';
import type { Config } from '../config/load.ts';
import { type ErrorCode, errorBody, errorCatalogue } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createForwarder } from '../proxy/forward.ts';
import { createRouteSigners } from '../proxy/route-signing.ts';
import { createRouter } from '../proxy/router.ts';
import { awaitingUpstreamHead } from '../proxy/socket-policy.ts';
import type { TapFactory } from '../proxy/tap.ts';
import { createUpstreamAgent } from '../proxy/upstream-agent.ts';
import {
  attachWebSocketTap,
  openWebSocketTap,
  type WebSocketTap,
  type WebSocketTapFactory,
} from '../proxy/websocket-tap.ts';
import { type AdminOptions, createAdminServer } from './admin-server.ts';
import { serveH2cAlongside } from './h2c.ts';
import { checkOrigin, checkRequestTarget } from './request-guard.ts';

export interface ProxyServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly tapFactory?: TapFactory | undefined;
  /** Observers of WebSocket tunnels (realtime APIs); the tunnel itself is never changed. */
  readonly webSocketTapFactory?: WebSocketTapFactory | undefined;
  readonly onTapError?: ((error: unknown) => void) | undefined;
  /** Extra admin endpoints (`GET /metrics`). */
  readonly admin?: AdminOptions | undefined;
  /** Egress proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, either case). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface ProxyServer {
  /** `http://127.0.0.1:4545` — the bound data-plane address. */
  readonly dataUrl: string;
  readonly adminUrl: string;
  readonly dataServer: Server;
  /** Stops accepting, lets in-flight requests finish up to `timeoutMs`, then cuts what is left. */
  drain(timeoutMs: number): Promise<{ cut: number }>;
}

const splitHostPort = (value: string): { host: string; port: number } => {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(colon + 1)) };
};

const urlOf = (server: Server): string => {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
};

/** A credential lookup (IMDS, STS, the container endpoint) may take a few connects; it is bounded all the same. */
const signingLookupMs = (connectMs: number): number => Math.min(30_000, Math.max(5_000, 2 * connectMs));

const listen = async (server: Server, hostPort: string): Promise<void> => {
  const { host, port } = splitHostPort(hostPort);
  server.listen(port, host);
  await once(server, 'listening');
};

const refuse = (
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  extra?: Readonly<Record<string, unknown>>,
): void => {
  const body = errorBody(code, message, extra);
  res.writeHead(errorCatalogue[code].status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
};

const reasonPhrase: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** An llmtap JSON error written straight to a socket (no request/response objects exist for parser errors). */
const rawErrorResponse = (code: ErrorCode, message: string): string => {
  const { status } = errorCatalogue[code];
  const body = errorBody(code, message);
  return `HTTP/1.1 ${status} ${reasonPhrase[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
};

/** Node's parser error codes → the answer llmtap gives. Everything else the parser rejects is a 400. */
const clientErrorCode = (parserCode: string | undefined): ErrorCode => {
  if (parserCode === 'HPE_HEADER_OVERFLOW') return 'LLMTAP_HEADERS_TOO_LARGE';
  if (parserCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'LLMTAP_REQUEST_TIMEOUT';
  return 'LLMTAP_BAD_REQUEST';
};

export const startProxyServer = async (options: ProxyServerOptions): Promise<ProxyServer> => {
  const { config, logger } = options;
  const router = createRouter(config.routes);
  const prefixes = router.routes.map((route) => route.config.prefix);
  let draining = false;
  let ready = false;
  const inFlight = new Set<ServerResponse>();
  // Observers still finishing a call whose response is done: the drain waits for them too.
  const pendingEnds = new Set<Promise<unknown>>();

  const env = options.env ?? {};
  const dispatcher = createUpstreamAgent(config.timeouts, env);

  const forward = createForwarder({
    dispatcher,
    tapFactory: options.tapFactory,
    limits: config.limits,
    timeouts: config.timeouts,
    logger,
    onTapError:
      options.onTapError ??
      ((error) =>
        logger.warnRateLimited('tap', 'telemetry observer failed; the call was forwarded untouched', {
          error,
        })),
    draining: () => draining,
    trackPending: (end) => {
      pendingEnds.add(end);
      const settled = (): void => {
        pendingEnds.delete(end);
      };
      end.then(settled, settled);
    },
    // Signing routes: a route without a region stops start-up here, before anything listens.
    signerFor: createRouteSigners(router.routes, env, signingLookupMs(config.timeouts.connectMs)),
  });

  // A refusal closes its connection. Requests the client pipelined behind a refused one were already parsed by
  // then; they must not be forwarded (a refused Host would otherwise smuggle its successor through).
  const refusedSockets = new WeakSet<Socket>();
  const refuseOn = (
    req: IncomingMessage,
    res: ServerResponse,
    code: ErrorCode,
    message: string,
    extra?: Readonly<Record<string, unknown>>,
  ): void => {
    refusedSockets.add(req.socket);
    refuse(res, code, message, extra);
  };

  // One shared listener (a response closes once): no closure and no once-wrapper per request.
  function untrack(this: ServerResponse): void {
    inFlight.delete(this);
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // Pipelined behind a refusal: left unanswered; the socket closes once the refusal is written.
    if (refusedSockets.has(req.socket)) return;
    const refusal = checkRequestTarget(req);
    if (refusal !== undefined) {
      logger.warn('request refused', { code: refusal.code, method: req.method });
      refuseOn(req, res, refusal.code, refusal.message);
      return;
    }
    const match = router.match(req.url ?? '/');
    if (match === undefined) {
      logger.info('request', { method: req.method, status: 404, error: 'LLMTAP_NO_ROUTE' });
      refuseOn(
        req,
        res,
        'LLMTAP_NO_ROUTE',
        `no route for this path; configured prefixes: ${prefixes.join(', ')}`,
        {
          prefixes,
        },
      );
      return;
    }
    const originRefusal = checkOrigin(req, match.route);
    if (originRefusal !== undefined) {
      logger.warn('request refused', { code: originRefusal.code, route: match.route.config.prefix });
      refuseOn(req, res, originRefusal.code, originRefusal.message);
      return;
    }
    if (match.route.config.idleTimeoutMs !== undefined)
      req.socket.setTimeout(match.route.config.idleTimeoutMs);
    inFlight.add(res);
    res.on('close', untrack);
    forward(req, res, match);
  };

  // A synchronous bug in the handler would otherwise escape into the process handler and leave this client
  // waiting until the idle timeout: answer 500 (or cut a response already started) instead.
  const safeHandle = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(req, res);
    } catch (error) {
      logger.error('request handler failed', { error, method: req.method });
      if (!res.headersSent) refuse(res, 'LLMTAP_INTERNAL', errorCatalogue.LLMTAP_INTERNAL.description);
      else res.destroy();
    }
  };

  const dataServer = createServer(
    {
      headersTimeout: config.timeouts.headersMs,
      requestTimeout: 0,
      maxHeaderSize: config.limits.maxHeaderBytes,
      keepAliveTimeout: 30_000,
      noDelay: true,
      insecureHTTPParser: false,
      // Node checks headersTimeout only this often (default 30 s): without it a slowloris client holds its
      // socket up to headersMs + 30 s, and a short headersMs would not be honoured at all.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.timeouts.headersMs / 4))),
    },
    safeHandle,
  );
  // HTTP/2 with prior knowledge (the AWS SDK's default for Bedrock) on the same port, into the same handler.
  const h2c = serveH2cAlongside(dataServer, safeHandle, {
    headersMs: config.timeouts.headersMs,
    idleMs: config.timeouts.idleMs,
    maxHeaderBytes: config.limits.maxHeaderBytes,
    awaitingUpstreamHead,
  });

  // Parser errors (ambiguous framing, bad chunked encoding, oversized headers, header timeout) get llmtap's
  // JSON answer and the connection closes. The offending bytes (error.rawPacket) are never logged: they may
  // hold credentials.
  dataServer.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const parserCode = error.code;
    const inFlightResponse = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (parserCode === 'ECONNRESET' || !socket.writable || inFlightResponse?.headersSent) {
      socket.destroy();
      return;
    }
    const code = clientErrorCode(parserCode);
    logger.warn('request refused', { code, parserError: parserCode });
    socket.end(rawErrorResponse(code, errorCatalogue[code].description));
  });
  // Idle in both directions on the client side; the upstream side is undici's bodyTimeout.
  dataServer.timeout = config.timeouts.idleMs;
  // Node's own reaction to an idle socket (destroy it), except while its call waits for the upstream's head:
  // that wait is bounded by upstreamHeadersMs alone. (Upgraded sockets no longer report timeouts here.)
  dataServer.on('timeout', (socket: Socket) => {
    if (!awaitingUpstreamHead(socket)) socket.destroy();
  });
  // Node keeps only the first 2,000 headers and silently drops the rest, which would alter the request.
  // maxHeaderBytes already bounds the memory, so the count is not limited separately.
  dataServer.maxHeadersCount = 0;

  dataServer.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end(
      rawErrorResponse('LLMTAP_METHOD_NOT_ALLOWED', errorCatalogue.LLMTAP_METHOD_NOT_ALLOWED.description),
    );
  });

  // Taps of upgrades in flight, by request: http-proxy hands the request back in its `proxyReqWs` event.
  const webSocketTaps = new WeakMap<IncomingMessage, WebSocketTap>();
  // WebSocket (e.g. realtime APIs) passes through untouched; http-proxy loads on the first upgrade, which most
  // pods never see (#15: every module loaded at start is resident in every pod).
  let wsProxy: HttpProxy | undefined;
  let wsProxyLoading: Promise<HttpProxy> | undefined;
  const loadWsProxy = (): Promise<HttpProxy> => {
    wsProxyLoading ??= import('http-proxy').then(({ default: httpProxyServer }) => {
      const proxy = httpProxyServer.createProxyServer({
        ws: true,
        changeOrigin: true,
        ignorePath: true,
        xfwd: false,
      });
      proxy.on('proxyReqWs', (proxyReq, req, socket) => {
        const tap = webSocketTaps.get(req);
        if (tap !== undefined) attachWebSocketTap(tap, proxyReq, socket as Socket);
      });
      proxy.on('error', (error, _req, target) => {
        logger.warn('websocket upstream error', { code: (error as { code?: string }).code ?? error.name });
        if (target !== undefined && 'destroy' in target) (target as Socket).destroy();
      });
      wsProxy = proxy;
      return proxy;
    });
    return wsProxyLoading;
  };
  dataServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = checkRequestTarget(req);
    const match = refusal === undefined ? router.match(req.url ?? '/') : undefined;
    const originRefusal = match === undefined ? undefined : checkOrigin(req, match.route);
    if (match === undefined || refusal !== undefined || originRefusal !== undefined) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const wsTaps = options.webSocketTapFactory;
    if (wsTaps !== undefined) {
      const tap = openWebSocketTap(wsTaps, req, match, options.onTapError ?? (() => undefined));
      if (tap !== undefined) webSocketTaps.set(req, tap);
    }
    const target = match.route.origin + match.upstreamPath + match.search;
    if (wsProxy !== undefined) {
      wsProxy.ws(req, socket, head, { target });
      return;
    }
    // First upgrade: the socket is not read until http-proxy takes it (no 'data' listener), so nothing is lost
    // while the module loads; an error or hang-up meanwhile must not become an uncaught 'error' event.
    const early = (): void => {
      socket.destroy();
    };
    socket.once('error', early);
    loadWsProxy().then(
      (proxy) => {
        socket.off('error', early);
        if (socket.destroyed) return;
        proxy.ws(req, socket, head, { target });
      },
      (error: unknown) => {
        logger.warn('websocket proxy unavailable', { error });
        socket.destroy();
      },
    );
  });

  const admin = createAdminServer({ ready: () => ready, draining: () => draining }, options.admin);
  await listen(dataServer, config.listen);
  await listen(admin, config.admin);
  ready = true;

  return {
    dataUrl: urlOf(dataServer),
    adminUrl: urlOf(admin),
    dataServer,
    async drain(timeoutMs) {
      draining = true;
      dataServer.close();
      dataServer.closeIdleConnections();
      h2c.close();
      const deadline = Date.now() + timeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))),
        );
        dataServer.closeIdleConnections();
      }
      const cut = inFlight.size;
      // The calls that did finish are recorded before telemetry is flushed (bounded by the same deadline).
      if (pendingEnds.size > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...pendingEnds]),
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
      dataServer.closeAllConnections();
      h2c.destroy();
      admin.close();
      admin.closeAllConnections();
      wsProxy?.close();
      const closed = dispatcher.close().catch(() => undefined);
      const timedOut = new Promise((resolve) => setTimeout(resolve, 2000).unref());
      if ((await Promise.race([closed.then(() => 'closed'), timedOut])) !== 'closed')
        await dispatcher.destroy();
      return { cut };
    },
  };
};
