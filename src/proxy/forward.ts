/**
 * Forwards one request to its upstream with undici's dispatch API and streams the answer back byte for byte.
 * This module only composes: per request it opens the tap, plans how to read the body, reads it, lets the
 * observer rewrite it (usage injection), and dispatches through the handlers that wrap the exchange:
 *
 *   undici ─► TapFeed (observer copy) ─► UsageFilterHandler (when rewritten) ─► Exchange (client) ─► AccessLog
 *
 * Observers get a copy through the tap; they can never fail or slow the call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Limits, Timeouts } from '../config/schema.ts';
import { LlmtapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { AccessLog } from './access-log.ts';
import type { AwsSigner } from './aws-sigv4.ts';
import { planRequestBody, readAheadBytes } from './body-plan.ts';
import { Exchange, type ExchangeEnding, type ExchangeSettings, type RequestBody } from './exchange.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { prefixThenRest, readBody, readChunkedPrefix } from './read-ahead.ts';
import { SignedAnswer, type SignerFor, signerForRequest, signHeaders } from './route-signing.ts';
import type { RouteMatch } from './router.ts';
import type { TapFactory } from './tap.ts';
import { TapFeed } from './tap-feed.ts';
import { patchedRequestHeaders, UsageFilterHandler } from './usage-filter.ts';

export interface ForwarderOptions {
  readonly dispatcher: Dispatcher;
  readonly tapFactory: TapFactory | undefined;
  readonly limits: Limits;
  readonly timeouts: Timeouts;
  readonly logger: Logger;
  /** Called when an observer throws; the call goes on without it. */
  readonly onTapError: (error: unknown) => void;
  /** True once SIGTERM arrived: responses ask clients to close their connections. */
  readonly draining: () => boolean;
  /**
   * Gets each observer's unfinished end (a call whose copy is still being parsed after the app got its last
   * byte), so that a drain can wait for it: otherwise a SIGTERM right after a call (a Job's last one) loses it.
   */
  readonly trackPending?: ((end: Promise<unknown>) => void) | undefined;
  /** Routes that re-sign their requests (`signing: aws-sigv4`). */
  readonly signerFor?: SignerFor | undefined;
}

export type Forwarder = (req: IncomingMessage, res: ServerResponse, match: RouteMatch) => void;

/** What every call of one forwarder shares. */
interface ForwarderState extends ExchangeSettings {
  readonly options: ForwarderOptions;
  readonly log: AccessLog | undefined;
}

const silent: ExchangeEnding = { exchangeEnded: () => {} };

export const createForwarder = (options: ForwarderOptions): Forwarder => {
  const state: ForwarderState = {
    options,
    dispatcher: options.dispatcher,
    timeouts: options.timeouts,
    logger: options.logger,
    draining: options.draining,
    log: AccessLog.for(options.logger),
  };
  return (req, res, match) => forward(state, req, res, match);
};

const forward = (
  state: ForwarderState,
  req: IncomingMessage,
  res: ServerResponse,
  match: RouteMatch,
): void => {
  const { options, log } = state;
  const exchange = new Exchange(state, req, res, match);
  const feed =
    options.tapFactory === undefined
      ? undefined
      : TapFeed.open(
          options.tapFactory,
          exchange,
          log,
          options.onTapError,
          options.limits.maxCopyBytes,
          options.trackPending,
        );
  exchange.ending = feed ?? log ?? silent;
  const signer = signerForRequest(options.signerFor, match, req.headers);
  // A re-signed body is read ahead like a rewritten one, so its hash can be signed (longer ones stream unsigned).
  const cap = readAheadBytes(options.limits, feed?.rewritesRequest === true, signer !== undefined);
  const plan = planRequestBody(req.headers, cap);
  switch (plan.read) {
    case 'none':
      send(exchange, feed, null, signer);
      return;
    case 'stream':
      send(exchange, feed, req, signer);
      return;
    case 'whole':
      readBody(req, plan.length)
        .then((body) => withBody(options, exchange, feed, body, signer))
        .catch((error: unknown) => exchange.internalError(error));
      return;
    case 'chunked-prefix':
      readChunkedPrefix(req, plan.cap)
        .then((read) => {
          if (read === undefined || exchange.clientGone) return;
          if ('complete' in read) withBody(options, exchange, feed, read.complete, signer);
          else send(exchange, feed, prefixThenRest(read.prefix, req), signer);
        })
        .catch((error: unknown) => exchange.internalError(error));
      return;
  }
};

const withBody = (
  options: ForwarderOptions,
  exchange: Exchange,
  feed: TapFeed | undefined,
  body: Buffer | undefined,
  signer: AwsSigner | undefined,
): void => {
  if (body === undefined || exchange.clientGone) return;
  const rewrite = feed?.rewritesRequest === true ? feed.rewrite(body) : undefined;
  if (rewrite === undefined) {
    send(exchange, feed, body, signer);
    return;
  }
  const { req } = exchange;
  const headers = patchedRequestHeaders(
    req.rawHeaders,
    req.headers.connection,
    feed?.tap.upstreamHeaders,
    rewrite.body,
  );
  const filtered = new UsageFilterHandler(exchange, rewrite.filter, options.onTapError);
  dispatch(exchange, signer, rewrite.body, headers, feed === undefined ? filtered : feed.around(filtered));
};

const send = (
  exchange: Exchange,
  feed: TapFeed | undefined,
  body: RequestBody,
  signer: AwsSigner | undefined,
): void => {
  try {
    const { req } = exchange;
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, feed?.tap.upstreamHeaders);
    dispatch(exchange, signer, body, headers, feed ?? exchange);
  } catch (error) {
    exchange.internalError(error);
  }
};

/** Dispatches as is, or first replaces the app's SigV4 signature with llmtap's (signing routes). */
const dispatch = (
  exchange: Exchange,
  signer: AwsSigner | undefined,
  body: RequestBody,
  headers: string[],
  handler: Dispatcher.DispatchHandler,
): void => {
  if (signer === undefined) {
    exchange.dispatch(body, headers, handler);
    return;
  }
  signHeaders(signer, exchange.method, exchange.match, headers, body).then(
    (signed) => exchange.dispatch(body, signed, new SignedAnswer(handler, signer)),
    (error: unknown) => {
      if (error instanceof LlmtapError) exchange.refuse(error.code, error.message);
      else exchange.internalError(error);
    },
  );
};
