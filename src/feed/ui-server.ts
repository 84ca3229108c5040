/**
 * The live view's own listener (`--ui`, default 127.0.0.1:4547: off the pod network, reached with
 * `kubectl port-forward`):
 *   GET /                the page (self-contained: inline CSS/JS, no CDN)
 *   GET /calls           recent calls, newest first (JSON array, the log line's field names); `?limit=N`
 *   GET /calls/stream    server-sent events: one `snapshot`, then a `call` event per change
 *   GET /calls/ID        one call's full record (captured content only when content capture is on)
 *
 * Bad subscribers cannot cost memory: each one's unsent bytes are capped (`maxBufferedBytes`; past it the
 * subscriber is dropped and counted), the number of subscribers is capped (`maxSubscribers`; more are refused
 * with 503 and counted), and so are connections. Requests must name the server by IP or `localhost` in Host,
 * so a web page cannot read the feed through DNS rebinding.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import type { Logger } from '../log.ts';
import type { CallFeed, FeedEvent } from './call-feed.ts';

export interface UiServerOptions {
  readonly feed: CallFeed;
  /** host:port */
  readonly listen: string;
  readonly logger: Logger;
  /** Concurrent `/calls/stream` subscribers; default 16. */
  readonly maxSubscribers?: number;
  /** Unsent bytes per subscriber before it is dropped; default 256 KiB. */
  readonly maxBufferedBytes?: number;
  /** Comment line sent to idle subscribers (finds dead ones, keeps proxies from timing out); default 15 s. */
  readonly heartbeatMs?: number;
  /** Calls in the stream's first `snapshot` event; default 200. */
  readonly snapshotCalls?: number;
}

export interface SubscriberStats {
  readonly subscribers: number;
  /** Dropped because they stopped reading (their unsent bytes reached the cap). */
  readonly droppedSubscribers: number;
  /** Refused because `maxSubscribers` were connected. */
  readonly refusedSubscribers: number;
}

export interface UiServer {
  readonly url: string;
  readonly server: Server;
  stats(): SubscriberStats;
  close(): Promise<void>;
}

/** Host must be an IP literal or localhost: a DNS-rebinding page names the server by its own domain. */
export const allowedHost = (host: string | undefined): boolean => {
  if (host === undefined || host === '') return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0;
};

const splitHostPort = (value: string): { host: string; port: number } => {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(colon + 1)) };
};

const commonHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export const startUiServer = async (options: UiServerOptions): Promise<UiServer> => {
  const { feed, logger } = options;
  const maxSubscribers = options.maxSubscribers ?? 16;
  const maxBufferedBytes = options.maxBufferedBytes ?? 256 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const snapshotCalls = options.snapshotCalls ?? 200;
  const subscribers = new Set<ServerResponse>();
  let dropped = 0;
  let refused = 0;
  let unlisten: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const stats = (): SubscriberStats => ({
    subscribers: subscribers.size,
    droppedSubscribers: dropped,
    refusedSubscribers: refused,
  });

  const remove = (res: ServerResponse): void => {
    if (!subscribers.delete(res)) return;
    if (subscribers.size === 0) {
      unlisten?.();
      unlisten = undefined;
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  };

  /** Writes unless the subscriber's backlog would pass the cap; then drops it. */
  const send = (res: ServerResponse, text: string): void => {
    if (res.writableLength + Buffer.byteLength(text) > maxBufferedBytes) {
      dropped += 1;
      remove(res);
      res.destroy();
      logger.warnRateLimited('ui-subscriber-dropped', 'live view subscriber dropped: it stopped reading', {
        droppedSubscribers: dropped,
        maxBufferedBytes,
      });
      return;
    }
    res.write(text);
  };

  const broadcast = (event: FeedEvent): void => {
    const text = `event: call\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of subscribers) send(res, text);
  };

  const subscribe = (req: IncomingMessage, res: ServerResponse): void => {
    if (subscribers.size >= maxSubscribers) {
      refused += 1;
      logger.warnRateLimited('ui-subscriber-refused', 'live view subscriber refused: too many', {
        refusedSubscribers: refused,
        maxSubscribers,
      });
      sendJson(
        res,
        503,
        { error: 'too many live view subscribers', maxSubscribers },
        { 'retry-after': '10' },
      );
      return;
    }
    res.writeHead(200, {
      ...commonHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    subscribers.add(res);
    res.on('close', () => remove(res));
    unlisten ??= feed.listen(broadcast);
    if (heartbeat === undefined) {
      heartbeat = setInterval(() => {
        for (const subscriber of subscribers) send(subscriber, ': ping\n\n');
      }, heartbeatMs);
      heartbeat.unref();
    }
    const snapshot = `{"calls":${feed.callsJson(snapshotCalls)},"totals":${JSON.stringify(feed.totals())},"minutes":${JSON.stringify(
      feed.minutes(),
    )},"capacity":${feed.capacity},"captureContent":${feed.captureContent},"stats":${JSON.stringify(stats())}}`;
    // The snapshot is written whatever its size (it is bounded by snapshotCalls); the cap applies after it.
    res.write(`retry: 2000\nevent: snapshot\ndata: ${snapshot}\n\n`);
  };

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: Readonly<Record<string, string>> = {},
  ): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...commonHeaders,
      ...extra,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    const path = url.pathname;
    if (!allowedHost(req.headers.host)) {
      sendJson(res, 403, { error: 'Host must be an IP address or localhost (DNS-rebinding guard)' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/' || path === '/index.html') {
      const { pageHtml, pageCsp } = await import('./page.ts');
      res.writeHead(200, {
        ...commonHeaders,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': pageCsp,
        'x-frame-options': 'DENY',
        'content-length': Buffer.byteLength(pageHtml),
      });
      res.end(req.method === 'HEAD' ? undefined : pageHtml);
    } else if (path === '/favicon.ico') {
      res.writeHead(204, commonHeaders);
      res.end();
    } else if (path === '/calls') {
      const limit = Number(url.searchParams.get('limit') ?? feed.capacity);
      const bounded = Number.isInteger(limit) && limit > 0 ? limit : feed.capacity;
      sendJson(res, 200, feed.callsJson(bounded));
    } else if (path === '/calls/stream') {
      subscribe(req, res);
    } else if (/^\/calls\/\d{1,15}$/.test(path)) {
      const record = feed.recordJson(Number(path.slice('/calls/'.length)));
      if (record === undefined) sendJson(res, 404, { error: 'no such call (it left the ring buffer)' });
      else sendJson(res, 200, record);
    } else {
      sendJson(res, 404, { error: 'not found', paths: ['/', '/calls', '/calls/stream', '/calls/{id}'] });
    }
  };

  const server = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, maxHeaderSize: 16_384 },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger.warn('live view request failed', { error });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    },
  );
  // A flood of idle connections is cut at the door (subscribers are capped separately, above).
  server.maxConnections = maxSubscribers * 2 + 32;
  const { host, port } = splitHostPort(options.listen);
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    server,
    stats,
    async close() {
      for (const res of subscribers) res.end();
      subscribers.clear();
      unlisten?.();
      unlisten = undefined;
      clearInterval(heartbeat);
      server.close();
      server.closeAllConnections();
      await once(server, 'close').catch(() => undefined);
    },
  };
};
