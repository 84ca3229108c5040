import { describe, expect, it } from 'vitest';
import { RequestCopy, type RequestCopyBudget } from '../../src/capture/request-copy.ts';

const bytes = (text: string): Uint8Array => Buffer.from(text);
/** A chunk with a buffer of its own (as socket reads are), not a slice of Buffer's shared pool. */
const own = (text: string): Buffer => {
  const chunk = Buffer.alloc(Buffer.byteLength(text));
  chunk.write(text);
  return chunk;
};

describe('RequestCopy', () => {
  it('copies every chunk while both bounds have room, and holds that much of the shared budget', () => {
    const budget: RequestCopyBudget = { used: 0, max: 100 };
    const copy = new RequestCopy(budget, 50);
    copy.append(bytes('{"a":'));
    copy.append(bytes('1}'));
    expect(copy.view()?.toString()).toBe('{"a":1}');
    expect(copy.truncated).toBe(false);
    expect(budget.used).toBe(7);
  });

  it('keeps the prefix up to the per-call bound, then copies nothing more', () => {
    const budget: RequestCopyBudget = { used: 0, max: 100 };
    const copy = new RequestCopy(budget, 4);
    copy.append(bytes('abc'));
    copy.append(bytes('def'));
    copy.append(bytes('g'));
    expect(copy.view()?.toString()).toBe('abcd');
    expect(copy.truncated).toBe(true);
    expect(budget.used).toBe(4);
  });

  it('shares one budget between calls: a second call gets what the first left', () => {
    const budget: RequestCopyBudget = { used: 0, max: 10 };
    const first = new RequestCopy(budget, 50);
    const second = new RequestCopy(budget, 50);
    first.append(bytes('0123456'));
    second.append(bytes('abcdef'));
    expect(second.view()?.toString()).toBe('abc');
    expect(second.truncated).toBe(true);
    expect(budget.used).toBe(10);
    // Released once, given back once.
    first.release();
    first.release();
    expect(budget.used).toBe(3);
    expect(first.view()).toBeUndefined();
    second.release();
    expect(budget.used).toBe(0);
  });

  it('a budget already spent copies nothing and marks the copy truncated', () => {
    const budget: RequestCopyBudget = { used: 10, max: 10 };
    const copy = new RequestCopy(budget, 50);
    copy.append(bytes('x'));
    expect(copy.view()?.length).toBe(0);
    expect(copy.truncated).toBe(true);
    expect(budget.used).toBe(10);
  });

  it('appends nothing after release', () => {
    const budget: RequestCopyBudget = { used: 0, max: 10 };
    const copy = new RequestCopy(budget, 50);
    copy.release();
    copy.append(bytes('abc'));
    expect(copy.view()).toBeUndefined();
    expect(budget.used).toBe(0);
  });

  it('holds a body sent as one chunk as it is, and copies once a second chunk arrives', () => {
    const budget: RequestCopyBudget = { used: 0, max: 100 };
    const copy = new RequestCopy(budget, 50);
    const first = own('{"a":');
    copy.append(first);
    expect(copy.view()).toBe(first);
    copy.append(own('1}'));
    expect(copy.view()?.toString()).toBe('{"a":1}');
    expect(copy.view()?.buffer).not.toBe(first.buffer);
    expect(budget.used).toBe(7);
    copy.release();
    expect(budget.used).toBe(0);
    expect(copy.view()).toBeUndefined();
  });

  it('copies a chunk that is a small part of a large buffer, so holding it keeps no more alive', () => {
    const big = Buffer.alloc(64 * 1024, 0x61);
    const copy = new RequestCopy({ used: 0, max: 1 << 20 }, 1 << 20);
    copy.append(big.subarray(0, 10));
    expect(copy.view()?.toString()).toBe('aaaaaaaaaa');
    expect(copy.view()?.buffer).not.toBe(big.buffer);
  });

  it('a single chunk cut by the bound is held up to the bound', () => {
    const copy = new RequestCopy({ used: 0, max: 100 }, 4);
    copy.append(own('abcdef'));
    copy.append(own('g'));
    expect(copy.view()?.toString()).toBe('abcd');
    expect(copy.truncated).toBe(true);
  });
});
