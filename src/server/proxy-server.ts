/**
 * The data plane and admin listeners, wired to the router and the forwarder, with graceful drain.
 * Knows nothing about providers or telemetry: observers come in through a `TapFactory`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import httpProxyServer from 'http-proxy';
import { EnvHttpProxyAgent } from 'undici';
import type { ProviderAdapter } from '../adapter.ts';
import type { Config } from '../config/load.ts';
import { type ErrorCode, errorBody, errorCatalogue } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createForwarder } from '../proxy/forward.ts';
import { createRouter, type RouteMatch } from '../proxy/router.ts';
import type { TapFactory } from '../proxy/tap.ts';
import { createAdminServer } from './admin-server.ts';
import { checkOrigin, checkRequestTarget } from './request-guard.ts';

export interface ProxyServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly tapFactory?: TapFactory | undefined;
  readonly adapterFor?: ((match: RouteMatch) => ProviderAdapter | undefined) | undefined;
  readonly onTapError?: ((error: unknown) => void) | undefined;
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

export const startProxyServer = async (options: ProxyServerOptions): Promise<ProxyServer> => {
  const { config, logger } = options;
  const router = createRouter(config.routes);
  const prefixes = router.routes.map((route) => route.config.prefix);
  let draining = false;
  let ready = false;
  const inFlight = new Set<ServerResponse>();

  // One pool per upstream origin inside; honours HTTP(S)_PROXY/NO_PROXY like any well-behaved client.
  const env = options.env ?? {};
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  const dispatcher = new EnvHttpProxyAgent({
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(noProxy ? { noProxy } : {}),
    connect: { timeout: config.timeouts.connectMs },
    headersTimeout: config.timeouts.upstreamHeadersMs,
    bodyTimeout: config.timeouts.idleMs,
    keepAliveTimeout: 30_000,
    maxResponseSize: -1,
  });

  const forward = createForwarder({
    dispatcher,
    tapFactory: options.tapFactory,
    adapterFor: options.adapterFor ?? (() => undefined),
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
  });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const refusal = checkRequestTarget(req);
    if (refusal !== undefined) {
      logger.warn('request refused', { code: refusal.code, method: req.method });
      refuse(res, refusal.code, refusal.message);
      return;
    }
    const match = router.match(req.url ?? '/');
    if (match === undefined) {
      logger.info('request', { method: req.method, status: 404, error: 'LLMTAP_NO_ROUTE' });
      refuse(res, 'LLMTAP_NO_ROUTE', `no route for this path; configured prefixes: ${prefixes.join(', ')}`, {
        prefixes,
      });
      return;
    }
    const originRefusal = checkOrigin(req, match.route);
    if (originRefusal !== undefined) {
      logger.warn('request refused', { code: originRefusal.code, route: match.route.config.prefix });
      refuse(res, originRefusal.code, originRefusal.message);
      return;
    }
    if (match.route.config.idleTimeoutMs !== undefined)
      req.socket.setTimeout(match.route.config.idleTimeoutMs);
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    forward(req, res, match);
  };

  const dataServer = createServer(
    {
      headersTimeout: config.timeouts.headersMs,
      requestTimeout: 0,
      maxHeaderSize: config.limits.maxHeaderBytes,
      keepAliveTimeout: 30_000,
      noDelay: true,
      insecureHTTPParser: false,
    },
    handle,
  );
  // Idle in both directions on the client side; the upstream side is undici's bodyTimeout.
  dataServer.timeout = config.timeouts.idleMs;

  dataServer.on('connect', (_req: IncomingMessage, socket: Socket) => {
    const body = errorBody('LLMTAP_METHOD_NOT_ALLOWED', errorCatalogue.LLMTAP_METHOD_NOT_ALLOWED.description);
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  // WebSocket (e.g. realtime APIs) passes through untouched and unobserved.
  const wsProxy = httpProxyServer.createProxyServer({
    ws: true,
    changeOrigin: true,
    ignorePath: true,
    xfwd: false,
  });
  wsProxy.on('error', (error, _req, target) => {
    logger.warn('websocket upstream error', { code: (error as { code?: string }).code ?? error.name });
    if (target !== undefined && 'destroy' in target) (target as Socket).destroy();
  });
  dataServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = checkRequestTarget(req);
    const match = refusal === undefined ? router.match(req.url ?? '/') : undefined;
    const originRefusal = match === undefined ? undefined : checkOrigin(req, match.route);
    if (match === undefined || refusal !== undefined || originRefusal !== undefined) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wsProxy.ws(req, socket, head, { target: match.route.origin + match.upstreamPath + match.search });
  });

  const admin = createAdminServer({ ready: () => ready, draining: () => draining });
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
      const deadline = Date.now() + timeoutMs;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))),
        );
        dataServer.closeIdleConnections();
      }
      const cut = inFlight.size;
      dataServer.closeAllConnections();
      admin.close();
      admin.closeAllConnections();
      wsProxy.close();
      const closed = dispatcher.close().catch(() => undefined);
      const timedOut = new Promise((resolve) => setTimeout(resolve, 2000).unref());
      if ((await Promise.race([closed.then(() => 'closed'), timedOut])) !== 'closed') await dispatcher.destroy();
      return { cut };
    },
  };
};
