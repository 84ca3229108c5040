/**
 * Observing WebSocket tunnels (Realtime/Live APIs) without touching them: the tunnel stays a byte-exact pipe in
 * both directions; the tap gets a copy of each chunk after it was read, and can neither slow nor break the pipe.
 * A tap that throws is switched off for the rest of its socket (fail open), and the failure is reported once.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RouteMatch } from './router.ts';
import type { CallContext } from './tap.ts';
import { now } from './tap.ts';

/** One observed WebSocket connection. Chunks are raw frame bytes, exactly as they crossed the tunnel. */
export interface WebSocketTap {
  /** Headers added to the upstream upgrade request (W3C trace context of the session span). */
  readonly upstreamHeaders?: Readonly<Record<string, string>> | undefined;
  /** The upstream answered 101 (its headers name the negotiated extensions). */
  opened(headers: IncomingHttpHeaders, at: number): void;
  clientData(chunk: Buffer, at: number): void;
  serverData(chunk: Buffer, at: number): void;
  /** The tunnel is gone (either side closed), or it never opened (`error` says why). */
  closed(at: number, error?: string): void;
}

export interface WebSocketTapFactory {
  open(context: CallContext): WebSocketTap | undefined;
}

/** Wraps a tap so that nothing it does can reach the tunnel: the first throw switches it off. */
export const guardWebSocketTap = (tap: WebSocketTap, onError: (error: unknown) => void): WebSocketTap => {
  let off = false;
  let ended = false;
  const guarded =
    <A extends unknown[]>(call: (...args: A) => void) =>
    (...args: A): void => {
      if (off) return;
      try {
        call(...args);
      } catch (error) {
        off = true;
        onError(error);
        // Whatever the tap holds (its session span) is still ended.
        if (!ended) {
          ended = true;
          try {
            tap.closed(now(), 'OBSERVER_FAILED');
          } catch {}
        }
      }
    };
  return {
    upstreamHeaders: tap.upstreamHeaders,
    opened: guarded((headers: IncomingHttpHeaders, at: number) => tap.opened(headers, at)),
    clientData: guarded((chunk: Buffer, at: number) => tap.clientData(chunk, at)),
    serverData: guarded((chunk: Buffer, at: number) => tap.serverData(chunk, at)),
    closed: guarded((at: number, error?: string) => {
      if (ended) return;
      ended = true;
      tap.closed(at, error);
    }),
  };
};

/** What http-proxy hands its `proxyReqWs` listeners (the parts used here). */
interface UpstreamUpgradeRequest {
  setHeader(name: string, value: string): void;
  once(event: 'upgrade', listener: (res: IncomingMessage, socket: Socket, head: Buffer) => void): unknown;
  once(event: 'response', listener: (res: IncomingMessage) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Feeds `tap` from a tunnel that http-proxy is about to open: called from its `proxyReqWs` event, before the
 * upgrade request is sent. The copy listeners are attached right after http-proxy piped the sockets together, before
 * the pipe's first read, so they see every byte the pipe carries (the heads included) and nothing else.
 */
export const attachWebSocketTap = (
  tap: WebSocketTap,
  proxyReq: UpstreamUpgradeRequest,
  clientSocket: Socket,
): void => {
  const headers = tap.upstreamHeaders;
  if (headers !== undefined)
    for (const name of Object.keys(headers)) proxyReq.setHeader(name, headers[name] as string);
  let done = false;
  let upgraded = false;
  const end = (error?: string): void => {
    if (done) return;
    done = true;
    tap.closed(now(), error);
  };
  proxyReq.once('upgrade', (res, upstreamSocket) => {
    upgraded = true;
    tap.opened(res.headers, now());
    // Not yet: http-proxy's own `upgrade` listener (after this one) unshifts the bytes that came with the 101 and
    // only then pipes. A `data` listener now would start the flow early and take those bytes from the pipe. The
    // pipe's flow starts on a later tick than this one, so the copy still sees every byte.
    process.nextTick(() => {
      clientSocket.on('data', (chunk: Buffer) => tap.clientData(chunk, now()));
      upstreamSocket.on('data', (chunk: Buffer) => tap.serverData(chunk, now()));
      clientSocket.once('close', () => end());
      upstreamSocket.once('close', () => end());
    });
  });
  // The upstream refused the upgrade (an HTTP answer instead of 101) or could not be reached.
  proxyReq.once('response', (res) => end(`HTTP_${res.statusCode ?? 0}`));
  proxyReq.once('error', (error) => end((error as { code?: string }).code ?? error.name));
  clientSocket.once('close', () => {
    if (!upgraded) end('CLIENT_ABORTED');
  });
};

/** The guarded tap for one upgrade request, or undefined when nothing observes this route/path. */
export const openWebSocketTap = (
  factory: WebSocketTapFactory,
  req: IncomingMessage,
  match: RouteMatch,
  onError: (error: unknown) => void,
): WebSocketTap | undefined => {
  try {
    const { route, upstreamPath, search } = match;
    const tap = factory.open({
      route: route.config,
      target: { method: req.method ?? 'GET', path: upstreamPath, query: new URLSearchParams(search) },
      upstreamUrl: route.originUrl,
      requestHeaders: req.headers,
      start: now(),
    });
    return tap === undefined ? undefined : guardWebSocketTap(tap, onError);
  } catch (error) {
    onError(error);
    return undefined;
  }
};
