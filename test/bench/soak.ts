/**
 * Soak (issue #7): a bounded mix of JSON, SSE, 4xx/5xx and client aborts through one fresh target, in a
 * warm-up and two equal halves. Memory must level off. The verdict uses live memory after a forced full GC
 * (V8 heap used + external buffers, from the heap probe preloaded into the soak process): it may grow at
 * most SOAK_LIVE_SLACK_MB over the second half. RSS is reported too, with its own bound (10% + 8 MB), but
 * it only decides when the probe is missing: RSS also moves with how much memory V8 and malloc keep around.
 */
import { fileURLToPath } from 'node:url';
import { getJson } from './net.ts';
import { rssKb } from './proc-stats.ts';
import { runNodeJson } from './procs.ts';
import { upstreamQuiet } from './streams.ts';
import type { Target } from './targets.ts';

export const SOAK_GROWTH = 0.1;
export const SOAK_SLACK_MB = 8;
export const SOAK_LIVE_SLACK_MB = 3;

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
  /** Heap used + external after a full GC, when the probe answered. */
  readonly liveMb?: number | undefined;
  /** Longest event-loop block during the phase (monitorEventLoopDelay max), when the probe answered. */
  readonly loopMaxMs?: number | undefined;
}

export interface SoakResult {
  readonly target: string;
  readonly calls: number;
  readonly errors: number;
  readonly badBodies: number;
  readonly counts: Record<string, number>;
  readonly phases: readonly SoakPhase[];
  readonly rssGrowthMb: number;
  readonly rssBoundMb: number;
  readonly liveGrowthMb: number | undefined;
  /** Longest event-loop block while serving: max over both halves (after the warm-up). */
  readonly loopMaxMs: number | undefined;
  readonly leaked: number;
  /** Correctness: errors, bodies, leaks, all calls run. */
  readonly correct: boolean;
  /** Memory levelled off (live memory when known, RSS otherwise). */
  readonly memoryOk: boolean;
  readonly problems: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const probe = async (
  probeUrl: string | undefined,
): Promise<{ liveMb: number | undefined; loopMaxMs: number | undefined }> => {
  if (probeUrl === undefined) return { liveMb: undefined, loopMaxMs: undefined };
  try {
    const body = await getJson<{ heapUsed?: number; external?: number; gc?: boolean; loopMaxMs?: number }>(
      probeUrl,
    );
    const loopMaxMs = typeof body.loopMaxMs === 'number' ? body.loopMaxMs : undefined;
    if (body.gc !== true || typeof body.heapUsed !== 'number') return { liveMb: undefined, loopMaxMs };
    return { liveMb: (body.heapUsed + (body.external ?? 0)) / 1024 / 1024, loopMaxMs };
  } catch {
    return { liveMb: undefined, loopMaxMs: undefined };
  }
};

const PHASES = ['warm-up', 'half 1', 'half 2'] as const;

export const runSoak = async (
  target: Target,
  upstreamPort: number,
  calls: number,
  probeUrl: string | undefined,
): Promise<SoakResult> => {
  const pid = target.process?.pid ?? 0;
  const url = `${target.base}/v1/chat/completions`;
  const warmup = Math.round(calls * 0.1);
  const half = Math.round((calls - warmup) / 2);
  const phases: SoakPhase[] = [
    { phase: 'start', calls: 0, seconds: 0, rssMb: rssKb(pid) / 1024, ...(await probe(probeUrl)) },
  ];
  const problems: string[] = [];
  const totals = { calls: 0, errors: 0, badBodies: 0, counts: {} as Record<string, number> };
  for (const phase of PHASES) {
    const out = await runNodeJson<SoakOut>(
      'client-soak',
      fileURLToPath(new URL('./client-soak.ts', import.meta.url)),
      { url, calls: phase === 'warm-up' ? warmup : half, concurrency: 32, timeoutMs: 300_000 },
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
      ...(await probe(probeUrl)),
    });
  }
  const leaked = await upstreamQuiet(upstreamPort, 1000);
  const rssGrowthMb = (phases[3]?.rssMb ?? 0) - (phases[2]?.rssMb ?? 0);
  const rssBoundMb = (phases[2]?.rssMb ?? 0) * SOAK_GROWTH + SOAK_SLACK_MB;
  const liveFirst = phases[2]?.liveMb;
  const liveLast = phases[3]?.liveMb;
  const liveGrowthMb = liveFirst === undefined || liveLast === undefined ? undefined : liveLast - liveFirst;
  const halves = phases.slice(2).map((p) => p.loopMaxMs);
  const loopMaxMs = halves.every((ms) => ms !== undefined) ? Math.max(...(halves as number[])) : undefined;
  if (totals.errors > 0) problems.push(`${totals.errors} errors`);
  if (totals.badBodies > 0) problems.push(`${totals.badBodies} bodies differ from upstream`);
  if (leaked > 0) problems.push(`${leaked} upstream streams left open after the soak`);
  if (totals.calls < calls) problems.push(`only ${totals.calls} of ${calls} calls ran before the time limit`);
  const correct = problems.length === 0;
  const memoryOk =
    liveGrowthMb !== undefined ? liveGrowthMb <= SOAK_LIVE_SLACK_MB : rssGrowthMb <= rssBoundMb;
  if (liveGrowthMb !== undefined && !memoryOk) {
    problems.push(
      `live memory grew ${liveGrowthMb.toFixed(1)} MB over the second half (bound ${SOAK_LIVE_SLACK_MB} MB)`,
    );
  }
  if (rssGrowthMb > rssBoundMb) {
    problems.push(
      `RSS grew ${rssGrowthMb.toFixed(1)} MB over the second half (bound ${rssBoundMb.toFixed(1)} MB)`,
    );
  }
  return {
    target: target.name,
    calls: totals.calls,
    errors: totals.errors,
    badBodies: totals.badBodies,
    counts: totals.counts,
    phases,
    rssGrowthMb,
    rssBoundMb,
    liveGrowthMb,
    loopMaxMs,
    leaked,
    correct,
    memoryOk,
    problems,
  };
};
