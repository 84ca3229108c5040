import type { IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { AccessLog } from '../../src/proxy/access-log.ts';
import type { Controller, ExchangeFacts } from '../../src/proxy/exchange.ts';
import { compileRoute } from '../../src/proxy/router.ts';
import type { CallContext, CallTap, TapFactory } from '../../src/proxy/tap.ts';
import { type ObservedExchange, TapFeed } from '../../src/proxy/tap-feed.ts';

const route = compileRoute({
  prefix: '/openai',
  provider: 'openai',
  upstream: 'http://127.0.0.1:9/base',
} as never);

/** The exchange seen from the feed: records the callbacks it gets, counts the bytes it "writes". */
const fakeExchange = (written: (chunk: Buffer) => number = (chunk) => chunk.length) => {
  const seen: string[] = [];
  const exchange: ObservedExchange & ExchangeFacts & Dispatcher.DispatchHandler & { seen: string[] } = {
    seen,
    status: 200,
    bytesIn: 0,
    match: { route, upstreamPath: '/base/chat', search: '?a=1&b=2' },
    method: 'POST',
    startedAt: 1000,
    bytesOut: 0,
    req: { headers: { 'content-type': 'application/json' } } as unknown as IncomingMessage,
    onRequestStart: () => seen.push('requestStart'),
    onBodySent: (chunk) => seen.push(`bodySent ${chunk.length}`),
    onRequestSent: () => seen.push('requestSent'),
    onResponseStart: (_c, status) => seen.push(`head ${status}`),
    onResponseData: (_c, chunk) => {
      (exchange as { bytesOut: number }).bytesOut += written(chunk);
      seen.push(`data ${chunk.length}`);
    },
    onResponseEnd: () => seen.push('end'),
    onResponseError: (_c, error) => seen.push(`error ${error.message}`),
  };
  return exchange;
};

/** A tap recording its calls in order, into the same list as the exchange's. */
const recordingTap = (seen: string[], endResult?: unknown): CallTap => ({
  upstreamHeaders: { traceparent: 'tp' },
  requestBody: (chunk) => seen.push(`tap.requestBody ${Buffer.from(chunk).toString()}`),
  requestEnd: () => seen.push('tap.requestEnd'),
  upstreamRequestSent: () => seen.push('tap.upstreamRequestSent'),
  responseHead: (status, headers) => seen.push(`tap.responseHead ${status} ${JSON.stringify(headers)}`),
  responseBody: (chunk) => seen.push(`tap.responseBody ${chunk.length}`),
  clientFirstByte: () => seen.push('tap.clientFirstByte'),
  end: (result) => {
    seen.push(`tap.end ${result.complete} ${result.transportError}`);
    return endResult as never;
  },
});

const factoryOf = (tap: CallTap | undefined, contexts: CallContext[] = []): TapFactory => ({
  open: (context) => {
    contexts.push(context);
    return tap;
  },
});

const controller = {} as Controller;

describe('TapFeed', () => {
  it('opens the tap with the call context: target with the parsed query, upstream origin, headers, start', () => {
    const exchange = fakeExchange();
    const contexts: CallContext[] = [];
    const feed = TapFeed.open(factoryOf(recordingTap([]), contexts), exchange, undefined, () => {}, 1 << 20);
    expect(feed).toBeInstanceOf(TapFeed);
    const [context] = contexts;
    expect(context?.target.method).toBe('POST');
    expect(context?.target.path).toBe('/base/chat');
    expect([...(context?.target.query ?? [])]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(context?.upstreamUrl.href).toBe('http://127.0.0.1:9/');
    expect(context?.requestHeaders).toEqual({ 'content-type': 'application/json' });
    expect(context?.start).toBe(1000);
    expect(context?.route.prefix).toBe('/openai');
  });

  it('no tap when the factory declines or throws (the throw is reported)', () => {
    const errors: unknown[] = [];
    expect(
      TapFeed.open(factoryOf(undefined), fakeExchange(), undefined, (e) => errors.push(e), 1),
    ).toBeUndefined();
    const throwing: TapFactory = {
      open: () => {
        throw new Error('factory bug');
      },
    };
    expect(TapFeed.open(throwing, fakeExchange(), undefined, (e) => errors.push(e), 1)).toBeUndefined();
    expect(errors).toEqual([new Error('factory bug')]);
  });

  it('feeds the tap after each step went on to the exchange, and marks the first byte the client got', () => {
    const exchange = fakeExchange((chunk) => (chunk.length === 3 ? 0 : chunk.length));
    const feed = TapFeed.open(factoryOf(recordingTap(exchange.seen)), exchange, undefined, () => {}, 1 << 20);
    const handler = feed?.around(exchange) as Dispatcher.DispatchHandler;
    handler.onRequestStart?.(controller, {});
    handler.onBodySent?.(Buffer.from('{"a":1}'));
    handler.onRequestSent?.();
    handler.onResponseStart?.(controller, 103, {}, '');
    handler.onResponseStart?.(
      controller,
      200,
      { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] },
      'OK',
    );
    // The first chunk is held back by the client side (nothing written): no first byte yet.
    handler.onResponseData?.(controller, Buffer.from('abc'));
    handler.onResponseData?.(controller, Buffer.from('defg'));
    handler.onResponseData?.(controller, Buffer.from('hijkl'));
    handler.onResponseEnd?.(controller, {});
    expect(exchange.seen).toEqual([
      'requestStart',
      'bodySent 7',
      'tap.requestBody {"a":1}',
      'requestSent',
      'tap.requestEnd',
      'tap.upstreamRequestSent',
      'head 103',
      'head 200',
      'tap.responseHead 200 {"content-type":"text/plain","set-cookie":"a=1, b=2"}',
      'data 3',
      'tap.responseBody 3',
      'data 4',
      'tap.clientFirstByte',
      'tap.responseBody 4',
      'data 5',
      'tap.responseBody 5',
      'end',
    ]);
  });

  it('a rewrite the observer makes: the tap gets the client`s body, not undici`s copy of the rewritten one', () => {
    const exchange = fakeExchange();
    const tap: CallTap = {
      ...recordingTap(exchange.seen),
      rewritesRequest: true,
      rewriteRequest: (body) =>
        body.includes('"stream"')
          ? {
              body: Buffer.from(`{"patched":true,${body.subarray(1)}`),
              filter: { push: (c) => c, flush: () => new Uint8Array(0) },
            }
          : undefined,
    };
    const feed = TapFeed.open(factoryOf(tap), exchange, undefined, () => {}, 1 << 20) as TapFeed;
    expect(feed.rewritesRequest).toBe(true);
    // No rewrite: undici's copy is the client's body, and the tap gets it as it is sent.
    expect(feed.rewrite(Buffer.from('{"a":1}'))).toBeUndefined();
    const rewrite = feed.rewrite(Buffer.from('{"stream":true}'));
    expect(rewrite?.body.toString()).toBe('{"patched":true,"stream":true}');
    feed.around(exchange).onBodySent(rewrite?.body as Buffer);
    expect(exchange.seen).toEqual(['tap.requestBody {"stream":true}', 'bodySent 30']);
  });

  it('no rewrite offered by a tap that does not rewrite', () => {
    const feed = TapFeed.open(factoryOf(recordingTap([])), fakeExchange(), undefined, () => {}, 1) as TapFeed;
    expect(feed.rewritesRequest).toBe(false);
    expect(feed.rewrite(Buffer.from('{}'))).toBeUndefined();
  });

  it('at the end, closes the tap and writes the access log with its fields, also when they come later', async () => {
    const lines: string[] = [];
    const log = new AccessLog(
      createLogger('info', { write: (line: string) => lines.push(line) }, 1 << 20, false),
    );
    const exchange = fakeExchange();
    const sync = TapFeed.open(
      factoryOf(recordingTap(exchange.seen, { model: 'm1' })),
      exchange,
      log,
      () => {},
      1,
    );
    sync?.exchangeEnded(exchange, true, undefined);
    const later = TapFeed.open(
      factoryOf(recordingTap(exchange.seen, Promise.resolve({ model: 'm2' }))),
      exchange,
      log,
      () => {},
      1,
    );
    later?.exchangeEnded(exchange, false, 'CLIENT_ABORTED');
    expect(lines).toHaveLength(1);
    await Promise.resolve();
    await Promise.resolve();
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((line) => [line.model, line.error])).toEqual([
      ['m1', undefined],
      ['m2', 'CLIENT_ABORTED'],
    ]);
    expect(exchange.seen).toEqual(['tap.end true undefined', 'tap.end false CLIENT_ABORTED']);
  });

  it('a throwing tap is switched off for the call and reported once; the exchange still gets everything', () => {
    const exchange = fakeExchange();
    const errors: unknown[] = [];
    const tap = recordingTap([]);
    tap.requestBody = () => {
      throw new Error('tap bug');
    };
    const feed = TapFeed.open(factoryOf(tap), exchange, undefined, (e) => errors.push(e), 1 << 20);
    const handler = feed?.around(exchange) as Dispatcher.DispatchHandler;
    handler.onBodySent?.(Buffer.from('a'));
    handler.onBodySent?.(Buffer.from('b'));
    handler.onResponseData?.(controller, Buffer.from('c'));
    expect(exchange.seen).toEqual(['bodySent 1', 'bodySent 1', 'data 1']);
    expect(errors).toEqual([new Error('tap bug')]);
  });
});
