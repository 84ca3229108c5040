import { describe, expect, it } from 'vitest';
import type { ResponseFilter } from '../../src/adapter.ts';
import type { Controller } from '../../src/proxy/exchange.ts';
import {
  type FilteredExchange,
  patchedRequestHeaders,
  UsageFilterHandler,
} from '../../src/proxy/usage-filter.ts';

/** Records what reaches the exchange. */
const fakeExchange = () => {
  const seen: string[] = [];
  const exchange: FilteredExchange & { seen: string[] } = {
    seen,
    dropResponseHeaders: undefined,
    onRequestStart: () => seen.push('requestStart'),
    onBodySent: (chunk) => seen.push(`bodySent ${chunk.length}`),
    onRequestSent: () => seen.push('requestSent'),
    onResponseStart: (_c, status) =>
      seen.push(`head ${status} drop=${[...(exchange.dropResponseHeaders ?? [])]}`),
    onResponseData: (_c, chunk) => seen.push(`data ${Buffer.from(chunk).toString()}`),
    writeTail: (bytes) => seen.push(`tail ${Buffer.from(bytes).toString()}`),
    onResponseEnd: () => seen.push('end'),
    onResponseError: (_c, error) => seen.push(`error ${error.message}`),
  };
  return exchange;
};

/** Drops every `x`, holds back a trailing `+` until the next chunk or the flush. */
const dropX = (): ResponseFilter => {
  let held = '';
  return {
    push(chunk) {
      const text = held + Buffer.from(chunk).toString().replaceAll('x', '');
      held = text.endsWith('+') ? '+' : '';
      return Buffer.from(held === '' ? text : text.slice(0, -1));
    },
    flush: () => Buffer.from(held),
  };
};

const controller = {} as Controller;

describe('UsageFilterHandler', () => {
  it('filters a 200 plain stream, drops Content-Length for the client, and writes what the filter held back', () => {
    const exchange = fakeExchange();
    const errors: unknown[] = [];
    const handler = new UsageFilterHandler(exchange, dropX(), (error) => errors.push(error));
    handler.onRequestStart(controller, {});
    handler.onBodySent(Buffer.from('abc'));
    handler.onRequestSent();
    handler.onResponseStart(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
    handler.onResponseData(controller, Buffer.from('axb+'));
    handler.onResponseData(controller, Buffer.from('xxx'));
    handler.onResponseData(controller, Buffer.from('c+'));
    handler.onResponseEnd(controller, {});
    expect(exchange.seen).toEqual([
      'requestStart',
      'bodySent 3',
      'requestSent',
      'head 200 drop=content-length',
      'data ab',
      // 'xxx' filtered to nothing: nothing is written (an empty write would still cost a syscall).
      'data +c',
      'tail +',
      'end',
    ]);
    expect(errors).toEqual([]);
  });

  for (const [name, status, headers] of [
    ['an error status', 400, {}],
    ['a compressed success', 200, { 'content-encoding': 'gzip' }],
  ] as const) {
    it(`passes ${name} through untouched, with its Content-Length`, () => {
      const exchange = fakeExchange();
      const handler = new UsageFilterHandler(exchange, dropX(), () => {});
      handler.onResponseStart(controller, status, headers);
      handler.onResponseData(controller, Buffer.from('axb+'));
      handler.onResponseEnd(controller, {});
      expect(exchange.seen).toEqual([`head ${status} drop=`, 'data axb+', 'end']);
    });
  }

  it('an informational head changes nothing: the final head decides', () => {
    const exchange = fakeExchange();
    const handler = new UsageFilterHandler(exchange, dropX(), () => {});
    handler.onResponseStart(controller, 103, {});
    handler.onResponseStart(controller, 200, {});
    handler.onResponseData(controller, Buffer.from('axb'));
    expect(exchange.seen).toEqual([
      'head 103 drop=content-length',
      'head 200 drop=content-length',
      'data ab',
    ]);
  });

  it('fails open: a filter that throws is reported once and the rest passes unfiltered', () => {
    const exchange = fakeExchange();
    const errors: unknown[] = [];
    let calls = 0;
    const broken: ResponseFilter = {
      push: (chunk) => {
        calls += 1;
        if (calls === 2) throw new Error('filter bug');
        return chunk;
      },
      flush: () => {
        throw new Error('never called once dropped');
      },
    };
    const handler = new UsageFilterHandler(exchange, broken, (error) => errors.push(error));
    handler.onResponseStart(controller, 200, {});
    handler.onResponseData(controller, Buffer.from('one'));
    handler.onResponseData(controller, Buffer.from('two'));
    handler.onResponseData(controller, Buffer.from('three'));
    handler.onResponseEnd(controller, {});
    expect(exchange.seen.slice(1)).toEqual(['data one', 'data two', 'data three', 'end']);
    expect(errors).toEqual([new Error('filter bug')]);
  });

  it('a flush that throws is reported and the stream still ends', () => {
    const exchange = fakeExchange();
    const errors: unknown[] = [];
    const handler = new UsageFilterHandler(
      exchange,
      {
        push: (chunk) => chunk,
        flush: () => {
          throw new Error('flush bug');
        },
      },
      (error) => errors.push(error),
    );
    handler.onResponseStart(controller, 200, {});
    handler.onResponseEnd(controller, {});
    expect(exchange.seen.at(-1)).toBe('end');
    expect(errors).toEqual([new Error('flush bug')]);
  });

  it('passes upstream errors on', () => {
    const exchange = fakeExchange();
    new UsageFilterHandler(exchange, dropX(), () => {}).onResponseError(controller, new Error('reset'));
    expect(exchange.seen).toEqual(['error reset']);
  });
});

describe('patchedRequestHeaders', () => {
  it('drops Accept-Encoding, counts the patched body, and keeps everything else in order and casing', () => {
    const raw = [
      'Host',
      'example',
      'Content-Type',
      'application/json',
      'Accept-Encoding',
      'gzip, br',
      'Content-Length',
      '2',
      'X-Custom',
      'kept',
    ];
    const headers = patchedRequestHeaders(
      raw,
      undefined,
      { traceparent: '00-abc-def-01' },
      Buffer.from('{"a":1}'),
    );
    expect(headers).toEqual([
      'Content-Type',
      'application/json',
      'Content-Length',
      '7',
      'X-Custom',
      'kept',
      'traceparent',
      '00-abc-def-01',
    ]);
  });
});
