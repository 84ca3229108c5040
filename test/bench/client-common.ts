/** Shared bits of the bench clients (each runs as its own process so it never shares a loop with a target). */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export const HEADERS = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench-not-a-secret',
} as const;

/** Latency histogram in µs (perf_hooks histograms take integers ≥ 1). */
export const histogram = (): RecordableHistogram =>
  createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });

export const recordMs = (h: RecordableHistogram, ms: number): void => {
  h.record(Math.max(1, Math.round(ms * 1000)));
};

export const percentilesMs = (h: RecordableHistogram) =>
  h.count === 0
    ? { p50: 0, p99: 0, p999: 0, max: 0 }
    : {
        p50: h.percentile(50) / 1000,
        p99: h.percentile(99) / 1000,
        p999: h.percentile(99.9) / 1000,
        max: h.max / 1000,
      };

export const inputOf = <T>(): T => JSON.parse(process.argv[2] ?? '{}') as T;

export const emit = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

export const splitUrl = (url: string): { origin: string; path: string } => {
  const parsed = new URL(url);
  return { origin: parsed.origin, path: parsed.pathname + parsed.search };
};
