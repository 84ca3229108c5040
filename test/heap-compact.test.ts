/**
 * src/heap-compact.ts: the one memory-reducing collection llmtap runs once it is serving (#15, idle RSS).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compactHeap } from '../src/heap-compact.ts';

const newSpaceBytes = (): number =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

describe('compactHeap', () => {
  it('shrinks a young generation that start-up grew back to its minimum', () => {
    // What start-up does: many small objects that survive scavenges make V8 grow the semi-spaces.
    let keep: unknown[] = [];
    for (let i = 0; i < 400_000; i += 1) keep.push({ i, s: `v${i}` });
    const grown = newSpaceBytes();
    expect(grown).toBeGreaterThan(2 * 1024 * 1024);
    keep = [];
    expect(compactHeap()).toBe(true);
    expect(keep).toEqual([]);
    expect(newSpaceBytes()).toBeLessThanOrEqual(1024 * 1024);
  });

  it('leaves --expose-gc as it found it (no gc() in later contexts)', () => {
    const before = typeof (globalThis as { gc?: unknown }).gc;
    expect(compactHeap()).toBe(true);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(before);
    if (before === 'undefined') expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
