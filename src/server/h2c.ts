/**
 * Cleartext HTTP/2 with prior knowledge (h2c) next to HTTP/1.1 on the same data port. The AWS SDK for JavaScript's
 * Bedrock runtime client speaks HTTP/2 by default, also to an `http://` endpoint; an HTTP/1.1-only port answers its
 * connection preface with a protocol error. Each new connection's first bytes tell the two apart: the HTTP/2 preface
 * starts with `PRI`, which no HTTP/1.1 request llmtap serves does. HTTP/2 requests reach the same request handler
 * through Node's compatibility API, so every route gets the same guards, streaming, backpressure and cancellation.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

export interface H2cOptions {
  /**
   * True while the request on this client socket waits for its upstream's response head: that wait is bounded by
   * upstreamHeadersMs alone, as on HTTP/1.1, so an idle session with such a request is not cut.
   */
  readonly awaitingUpstreamHead?: ((socket: object) => boolean) | undefined;
  /** A connection that sends no first bytes within this long is closed (same as the HTTP/1.1 header timeout). */
  readonly headersMs: number;
  /** An HTTP/2 session without any frame in either direction for this long is closed. */
  readonly idleMs: number;
  /** Advertised SETTINGS_MAX_HEADER_LIST_SIZE (the HTTP/1.1 side's header limit). */
  readonly maxHeaderBytes: number;
}

export interface H2c {
  /** Graceful: GOAWAY to every session (streams in flight finish), no new connections are sniffed. */
  close(): void;
  /** Cuts what is left: sessions and connections still being sniffed. */
  destroy(): void;
}

const preface = Buffer.from('PRI');

/**
 * HTTP/2 has no Transfer-Encoding: a body without Content-Length is framed by DATA frames. The request handler
 * decides "has a body" as HTTP/1.1 does (Content-Length or Transfer-Encoding), so such a request is marked the way
 * an HTTP/1.1 chunked one is; it is read the same way (the header is never forwarded: it is hop-by-hop).
 */
const asHttp1Request = (req: Http2ServerRequest): IncomingMessage => {
  const { headers } = req;
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders)
    headers['transfer-encoding'] = 'chunked';
  return req as unknown as IncomingMessage;
};

/**
 * Two places where Node's compatibility response differs from an HTTP/1.1 one in what the handler relies on:
 * - `writableFinished` is also true for a stream the client reset (RST_STREAM); the handler reads it to tell a
 *   finished response from an abandoned one (which aborts the upstream), so here it means "ended and not reset";
 * - HTTP/2 has no reason phrase: setting `statusMessage` would only print a process warning.
 */
const asHttp1Response = (res: Http2ServerResponse): ServerResponse => {
  const { stream } = res;
  Object.defineProperty(res, 'writableFinished', {
    get: () => res.writableEnded && stream.closed && stream.rstCode === 0 /* NGHTTP2_NO_ERROR */,
  });
  Object.defineProperty(res, 'statusMessage', { value: '', writable: true });
  return res as unknown as ServerResponse;
};

/**
 * Takes over `server`'s connections: each is sniffed and handed either to Node's HTTP/1.1 connection handling (as if
 * nothing happened) or to an HTTP/2 session whose requests go to `handler`. `node:http2` is loaded on the first
 * HTTP/2 connection: a pod whose apps only speak HTTP/1.1 never pays for it.
 */
export const serveH2cAlongside = (
  server: Server,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: H2cOptions,
): H2c => {
  const sessions = new Set<Http2Session>();
  const requests = new WeakMap<Http2Session, Set<object>>();
  let h2: Promise<Http2Server> | undefined;
  const h2Server = (): Promise<Http2Server> => {
    h2 ??= import('node:http2').then(({ createServer }) => {
      const created = createServer(
        {
          settings: { maxHeaderListSize: options.maxHeaderBytes, enablePush: false },
          // Past this many headers a stream is refused (never silently trimmed); the byte limit above bounds memory.
          maxHeaderListPairs: 1024,
        },
        (req, res) => {
          // The session's requests, by their client socket (the object the forwarder keys its head wait by).
          const { session } = req.stream;
          if (session !== undefined) {
            let open = requests.get(session);
            if (open === undefined) {
              open = new Set();
              requests.set(session, open);
            }
            const socket = req.socket;
            open.add(socket);
            res.once('close', () => open.delete(socket));
          }
          handler(asHttp1Request(req), asHttp1Response(res));
        },
      );
      created.on('session', (session: Http2Session) => {
        sessions.add(session);
        session.once('close', () => sessions.delete(session));
        // A broken peer ends its own session; nothing else may crash the process.
        session.on('error', () => session.destroy());
        session.setTimeout(options.idleMs);
        session.on('timeout', () => {
          const waiting = options.awaitingUpstreamHead;
          const open = requests.get(session);
          if (waiting !== undefined && open !== undefined && [...open].some((socket) => waiting(socket))) {
            // A model still thinking: not idle by llmtap's rules. Look again one period later.
            session.setTimeout(options.idleMs);
            return;
          }
          session.destroy();
        });
      });
      return created;
    });
    return h2;
  };

  const http1 = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const sniffing = new Set<Socket>();
  let closed = false;

  server.on('connection', (socket: Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    sniffing.add(socket);
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), options.headersMs);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      sniffing.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (): void => {
      done();
      socket.destroy();
    };
    const onClose = (): void => done();
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const compared = Math.min(seen.length, preface.length);
      const isH2 = seen.subarray(0, compared).equals(preface.subarray(0, compared));
      // Too few bytes to tell yet (a client writing its first line byte by byte).
      if (isH2 && seen.length < preface.length) return;
      done();
      socket.pause();
      socket.unshift(seen);
      if (isH2) {
        // The session reads what is buffered on the socket itself (and owns the socket from here).
        sniffing.add(socket);
        const onWaitError = (): void => {
          socket.destroy();
        };
        socket.on('error', onWaitError);
        h2Server().then(
          (h2server) => {
            sniffing.delete(socket);
            socket.off('error', onWaitError);
            if (closed || socket.destroyed) socket.destroy();
            else h2server.emit('connection', socket);
          },
          () => socket.destroy(),
        );
        return;
      }
      for (const listener of http1) listener.call(server, socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });

  return {
    close() {
      closed = true;
      for (const session of sessions) session.close();
    },
    destroy() {
      closed = true;
      for (const session of sessions) session.destroy();
      for (const socket of sniffing) socket.destroy();
    },
  };
};
