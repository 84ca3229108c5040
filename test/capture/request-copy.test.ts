import { describe, expect, it } from 'vitest';
import { RequestCopy, type RequestCopyBudget } from '../../src/capture/request-copy.ts';

const bytes = (text: string): Uint8Array => Buffer.from(text);

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
});
