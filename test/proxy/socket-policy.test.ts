import { describe, expect, it } from 'vitest';
import {
  awaitHead,
  awaitingUpstreamHead,
  flushHeadLater,
  stopAwaitingHead,
} from '../../src/proxy/socket-policy.ts';

describe('the idle-timer exemption while the upstream thinks', () => {
  it('holds from awaitHead until its own exchange stops it', () => {
    const socket = {};
    const first = {};
    const second = {};
    expect(awaitingUpstreamHead(socket)).toBe(false);
    awaitHead(socket, first);
    expect(awaitingUpstreamHead(socket)).toBe(true);
    // Pipelining: a later exchange on the same socket takes the exemption over; the first cannot clear it.
    awaitHead(socket, second);
    stopAwaitingHead(socket, first);
    expect(awaitingUpstreamHead(socket)).toBe(true);
    stopAwaitingHead(socket, second);
    expect(awaitingUpstreamHead(socket)).toBe(false);
  });
});

describe('deferred head flushes', () => {
  it('run once per head, after the synchronous part of the turn, in order', async () => {
    const order: string[] = [];
    flushHeadLater({ flushHeadIfNoBody: () => order.push('a') });
    flushHeadLater({ flushHeadIfNoBody: () => order.push('b') });
    order.push('sync');
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['sync', 'a', 'b']);
  });

  it('one head that throws does not hold back the others; its error surfaces on its own', async () => {
    const order: string[] = [];
    const thrown: unknown[] = [];
    const onError = (error: unknown): void => {
      thrown.push(error);
    };
    process.on('uncaughtException', onError);
    try {
      flushHeadLater({
        flushHeadIfNoBody: () => {
          throw new Error('head bug');
        },
      });
      flushHeadLater({ flushHeadIfNoBody: () => order.push('after') });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(order).toEqual(['after']);
    expect(thrown).toEqual([new Error('head bug')]);
  });
});
