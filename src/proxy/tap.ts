/**
 * The tap: how the forwarding core hands a copy of each call's bytes to observers (capture, telemetry)
 * without ever letting them slow or break the traffic. Every method is called after the bytes were
 * forwarded, inside a try/catch at the call site (see `guardTap`), and must not retain chunks beyond
 * the call.
 */
import type { RequestTarget, ResponseFilter } from '../adapter.ts';
import type { RouteConfig } from '../config/schema.ts';

/** What the core knows when a request arrives. Timestamps are epoch milliseconds (fractional). */
export interface CallContext {
  readonly route: RouteConfig;
  /** The request as it goes upstream: method, upstream path (base path + rest) and query. */
  readonly target: RequestTarget;
  readonly upstreamUrl: URL;
  /** The client's request headers (lower-case names) — may carry credentials: never log or export them. */
  readonly requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  readonly start: number;
}

/** How the response side ended. */
export interface CallEnd {
  readonly at: number;
  /** True when the upstream body ended cleanly and the client received all of it. */
  readonly complete: boolean;
  /** Set when the call failed at transport level: `ECONNREFUSED`, `UND_ERR_SOCKET`, `CLIENT_ABORTED`… */
  readonly transportError?: string | undefined;
  /** True when the per-call copy budget cut the copy of either body. */
  readonly copyTruncated: boolean;
}

export type CallLogFields = Readonly<Record<string, unknown>>;

export type { ResponseFilter };

/** An observer's rewrite of one request body, and the filter that takes its effect back out of the response. */
export interface RequestRewrite {
  readonly body: Buffer;
  /** Applied to the client's copy of a 200 uncompressed response; must not throw (a throw drops it). */
  readonly filter: ResponseFilter;
}

/** One call's observer. */
export interface CallTap {
  /** Headers to set on the upstream request (W3C trace context of the call's span). */
  readonly upstreamHeaders?: Readonly<Record<string, string>> | undefined;
  /**
   * True when this observer may rewrite the request (streaming-usage injection): the forwarder then reads a
   * body up to `limits.maxInjectBodyBytes` whole and offers it to `rewriteRequest` before dispatch.
   */
  readonly rewritesRequest?: boolean | undefined;
  /**
   * The body to send instead of the client's, with its response filter; undefined to send it as it came. The
   * client's own body is what `requestBody` then sees.
   */
  rewriteRequest?(body: Buffer): RequestRewrite | undefined;
  requestBody(chunk: Uint8Array): void;
  requestEnd(): void;
  upstreamRequestSent(at: number): void;
  responseHead(status: number, headers: Readonly<Record<string, string>>, at: number): void;
  /** Upstream response bytes as received (before any client-facing filter). */
  responseBody(chunk: Uint8Array, at: number): void;
  clientFirstByte(at: number): void;
  /**
   * Returns fields to merge into the request's log line (the call's GenAI facts), if any. May return a promise
   * when the copy still has to drain (e.g. an async decompressor); the core awaits it off the forwarding path.
   */
  end(result: CallEnd): CallLogFields | Promise<CallLogFields | undefined> | undefined;
}

/** Opens a tap per call, or returns undefined when nothing wants to observe this call. */
export interface TapFactory {
  open(context: CallContext): CallTap | undefined;
}

/** Epoch milliseconds with sub-millisecond resolution, monotonic within the process. */
export const now = (): number => performance.timeOrigin + performance.now();
