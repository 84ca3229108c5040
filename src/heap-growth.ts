/**
 * How far V8 lets the old generation grow between full collections while llmtap serves (#15).
 *
 * The sidecar caps the heap (`--max-old-space-size=160` in NODE_OPTIONS) so V8 collects well inside the pod's
 * memory limit. The cap has a side effect: V8 picks its heap-growing factor from the heap's maximum size, and
 * for a maximum under 1 GB it treats the process as a small device and grows the old generation by only ~1.3x
 * (at least ~8 MB) per full collection. A proxy at 64 concurrent calls promotes ~1.3 MB per scavenge whatever it
 * does (bare Node + undici too: requests still in flight survive it), so that margin ran a full mark-compact
 * about every 140 ms. With telemetry on, its concurrent marking was the largest part of the CPU that observing
 * added (`--trace-gc-nvp`, test/bench/gc-ledger.ts). A factor of 3 makes them ~3x rarer and the cap still bounds
 * the heap. Measured at 64 concurrent JSON calls, telemetry on (full GCs per 3 s · peak RSS): V8's choice 18 ·
 * 143 MB, factor 2: 8 · 137, **3: 6 · 157**, 4 (V8's own for heaps of 1 GB and more): 4 · 178 — 3 keeps the
 * peak well under the 200 MB line. Idle memory is unchanged: an idle process allocates nothing.
 *
 * NODE_OPTIONS may not carry this V8 flag, so llmtap sets it at run time; a value given on the command line
 * (`node --heap-growing-percent=N`, 0 for V8's own choice) wins.
 */
import { setFlagsFromString } from 'node:v8';

/** A growing factor of 1 + 200/100 = 3 (V8 picks ~1.3 for a heap capped under 1 GB, up to 4 above it). */
export const HEAP_GROWING_PERCENT = 200;

const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/;

/** Sets the factor unless the command line set one; true when it did. Never throws. */
export const widenHeapGrowth = (execArgv: readonly string[] = process.execArgv): boolean => {
  if (execArgv.some((arg) => GIVEN.test(arg))) return false;
  try {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    return true;
  } catch {
    return false;
  }
};
