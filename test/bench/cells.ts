/** One measured cell: a client run against one target while the target's CPU, RSS and the machine are sampled. */

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Mode } from './payloads.ts';
import { eventsPerStream } from './payloads.ts';
import {
  busyMicros,
  busyPercent,
  cpuMicros,
  machineTicks,
  sampleRss,
  selfAndReapedMicros,
} from './proc-stats.ts';
import { runNodeJson, type Started } from './procs.ts';
import type { Target } from './targets.ts';
import { type ClosedResult, runWrk } from './wrk.ts';

export type CellKind = 'closed' | 'open' | 'ttft';

export interface CellSpec {
  readonly id: string;
  readonly kind: CellKind;
  readonly mode: Mode;
  /** Closed loop: connections; TTFT: concurrent streams; open loop: pool size. */
  readonly connections: number;
  /** Open loop: arrivals per second. */
  readonly rate?: number;
}

export interface CellResult {
  readonly cell: string;
  readonly target: string;
  readonly rep: number;
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly fullP50?: number;
  readonly fullP99?: number;
  readonly errors: number;
  readonly badBodies: number;
  /** Target CPU µs per request (per stream for SSE). */
  readonly cpuUsPerReq: number;
  /** Target CPU µs per relayed SSE event (stream cells only). */
  readonly cpuUsPerEvent?: number;
  readonly cpuPct: number;
  readonly upstreamCpuPct: number;
  readonly busyPct: number;
  /** Machine CPU used by other tenants during the cell, % of all cores (busy minus everything the bench ran). */
  readonly foreignPct: number;
  readonly rssPeakMb: number;
  /** Open loop: the most a send left after its scheduled time (a lagging client voids the cell). */
  readonly clientLagMs?: number;
}

export interface CellContext {
  readonly upstream: Started;
  readonly wrk: string | undefined;
  readonly tmp: string;
  readonly durationMs: number;
}

const CORES = availableParallelism();

const script = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

interface ClientOut extends ClosedResult {
  fullP50?: number;
  fullP99?: number;
  maxLagMs?: number;
}

const runClient = (spec: CellSpec, url: string, context: CellContext): Promise<ClientOut> => {
  const timeout = context.durationMs + 30_000;
  switch (spec.kind) {
    case 'closed':
      return context.wrk !== undefined
        ? runWrk(context.wrk, context.tmp, url, spec.mode, spec.connections, context.durationMs)
        : runNodeJson(
            'client-closed',
            script('./client-closed.ts'),
            { url, mode: spec.mode, connections: spec.connections, durationMs: context.durationMs },
            timeout,
          );
    case 'open':
      return runNodeJson(
        'client-open',
        script('./client-open.ts'),
        {
          url,
          mode: spec.mode,
          rate: spec.rate ?? 1000,
          durationMs: context.durationMs,
          connections: spec.connections,
        },
        timeout,
      );
    case 'ttft':
      return runNodeJson(
        'client-ttft',
        script('./client-ttft.ts'),
        { url, mode: spec.mode, concurrency: spec.connections, durationMs: context.durationMs },
        timeout,
      );
  }
};

export const runCell = async (
  spec: CellSpec,
  target: Target,
  rep: number,
  context: CellContext,
): Promise<CellResult> => {
  const pid = target.process?.pid;
  const url = `${target.base}/v1/chat/completions`;
  const cpu0 = pid === undefined ? 0 : cpuMicros(pid);
  const up0 = cpuMicros(context.upstream.pid);
  const machine0 = machineTicks();
  const own0 = selfAndReapedMicros();
  const rss = sampleRss(pid === undefined ? [] : [pid]);
  const t0 = performance.now();
  const out = await runClient(spec, url, context);
  const wallUs = (performance.now() - t0) * 1000;
  const peaks = rss.stop();
  const cpuUs = pid === undefined ? 0 : cpuMicros(pid) - cpu0;
  const upUs = cpuMicros(context.upstream.pid) - up0;
  const machine1 = machineTicks();
  const ownUs = cpuUs + upUs + selfAndReapedMicros() - own0;
  const foreignUs = Math.max(0, busyMicros(machine0, machine1) - ownUs);
  const streaming = spec.mode === 'sse' || spec.mode === 'ttft' || spec.mode === 'paced';
  const events = out.requests * eventsPerStream(spec.mode);
  return {
    cell: spec.id,
    target: target.name,
    rep,
    requests: out.requests,
    rps: out.rps,
    p50: out.p50,
    p99: out.p99,
    p999: out.p999,
    ...(out.fullP50 === undefined ? {} : { fullP50: out.fullP50 }),
    ...(out.fullP99 === undefined ? {} : { fullP99: out.fullP99 }),
    errors: out.errors,
    badBodies: out.badBodies,
    cpuUsPerReq: out.requests === 0 ? 0 : cpuUs / out.requests,
    ...(streaming ? { cpuUsPerEvent: events === 0 ? 0 : cpuUs / events } : {}),
    cpuPct: (100 * cpuUs) / wallUs,
    upstreamCpuPct: (100 * upUs) / wallUs,
    busyPct: busyPercent(machine0, machine1),
    foreignPct: (100 * foreignUs) / (wallUs * CORES),
    rssPeakMb: pid === undefined ? 0 : (peaks.get(pid) ?? 0) / 1024,
    ...(out.maxLagMs === undefined ? {} : { clientLagMs: out.maxLagMs }),
  };
};
