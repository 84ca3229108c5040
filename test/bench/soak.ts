/**
 * Soak (issue #7): a bounded mix of JSON, SSE, 4xx/5xx and client aborts through one fresh target, in a
 * warm-up and two equal halves. Memory must level off: RSS after the second half may exceed RSS after the
 * first by at most SOAK_GROWTH (+ SOAK_SLACK_MB for V8 sizing its heap), and no upstream stream may stay open.
 */
import { fileURLToPath } from 'node:url';
import { getJson } from './net.ts';
import { rssKb } from './proc-stats.ts';
import { runNodeJson } from './procs.ts';
import { upstreamQuiet } from './streams.ts';
import type { Target } from './targets.ts';

export const SOAK_GROWTH = 0.1;
export const SOAK_SLACK_MB = 8;
/** Live heap (after a forced full GC) may not grow more than this over the second half. */
export const SOAK_HEAP_SLACK_MB = 3;

interface SoakOut {
  calls: number;
  seconds: number;
  errors: number;
  badBodies: number;
  counts: Record<string, number>;
}

export interface SoakPhase {
  readonly phase: string;
  readonly calls: number;
  readonly seconds: number;
  readonly rssMb: number;
  readonly heapUsedMb?: number | undefined;
}

export interface SoakResult {
  readonly target: string;
  readonly calls: number;
  readonly errors: number;
  readonly badBodies: number;
  readonly counts: Record<string, number>;
  readonly phases: readonly SoakPhase[];
  readonly growthMb: number;
  readonly boundMb: number;
  /** Live-heap growth over the second half, when the heap probe answered. */
  readonly heapGrowthMb: number | undefined;
  readonly leaked: number;
  readonly pass: boolean;
  readonly problems: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Heap figures when the target exposes them (`heapUrl` answering `{ heapUsed }` in bytes), else undefined. */
const heapUsedMb = async (heapUrl: string | undefined): Promise<number | undefined> => {
  if (heapUrl === undefined) return undefined;
  try {
    const body = await getJson<{ heapUsed?: number }>(heapUrl);
    return typeof body.heapUsed === 'number' ? body.heapUsed / 1024 / 1024 : undefined;
  } catch {
    return undefined;
  }
};

export const runSoak = async (
  target: Target,
  upstreamPort: number,
  calls: number,
  heapUrl: string | undefined,
): Promise<SoakResult> => {
  const pid = target.process?.pid ?? 0;
  const url = `${target.base}/v1/chat/completions`;
  const warmup = Math.round(calls * 0.1);
  const half = Math.round((calls - warmup) / 2);
  const phases: SoakPhase[] = [
    { phase: 'start', calls: 0, seconds: 0, rssMb: rssKb(pid) / 1024, heapUsedMb: await heapUsedMb(heapUrl) },
  ];
  const problems: string[] = [];
  const totals = { calls: 0, errors: 0, badBodies: 0, counts: {} as Record<string, number> };
  for (const [phase, n] of [
    ['warm-up', warmup],
    ['half 1', half],
    ['half 2', half],
  ] as const) {
    const out = await runNodeJson<SoakOut>(
      'client-soak',
      fileURLToPath(new URL('./client-soak.ts', import.meta.url)),
      { url, calls: n, concurrency: 32, timeoutMs: 300_000 },
      330_000,
    );
    totals.calls += out.calls;
    totals.errors += out.errors;
    totals.badBodies += out.badBodies;
    for (const [kind, count] of Object.entries(out.counts))
      totals.counts[kind] = (totals.counts[kind] ?? 0) + count;
    // Let aborted streams and span batches (OTEL_BSP_SCHEDULE_DELAY, set short for the soak) settle first.
    await sleep(2000);
    phases.push({
      phase,
      calls: out.calls,
      seconds: out.seconds,
      rssMb: rssKb(pid) / 1024,
      heapUsedMb: await heapUsedMb(heapUrl),
    });
  }
  const leaked = await upstreamQuiet(upstreamPort, 1000);
  const first = phases[2]?.rssMb ?? 0;
  const last = phases[3]?.rssMb ?? 0;
  const growthMb = last - first;
  const boundMb = first * SOAK_GROWTH + SOAK_SLACK_MB;
  if (totals.errors > 0) problems.push(`${totals.errors} errors`);
  if (totals.badBodies > 0) problems.push(`${totals.badBodies} bodies differ from upstream`);
  if (leaked > 0) problems.push(`${leaked} upstream streams left open after the soak`);
  const heapFirst = phases[2]?.heapUsedMb;
  const heapLast = phases[3]?.heapUsedMb;
  const heapGrowthMb = heapFirst === undefined || heapLast === undefined ? undefined : heapLast - heapFirst;
  if (heapGrowthMb !== undefined && heapGrowthMb > SOAK_HEAP_SLACK_MB) {
    problems.push(
      `live heap grew ${heapGrowthMb.toFixed(1)} MB over the second half (bound ${SOAK_HEAP_SLACK_MB} MB)`,
    );
  }
  if (growthMb > boundMb) {
    problems.push(`RSS grew ${growthMb.toFixed(1)} MB over the second half (bound ${boundMb.toFixed(1)} MB)`);
  }
  if (totals.calls < calls) problems.push(`only ${totals.calls} of ${calls} calls ran before the time limit`);
  return {
    target: target.name,
    calls: totals.calls,
    errors: totals.errors,
    badBodies: totals.badBodies,
    counts: totals.counts,
    phases,
    growthMb,
    boundMb,
    heapGrowthMb,
    leaked,
    pass: problems.length === 0,
    problems,
  };
};
