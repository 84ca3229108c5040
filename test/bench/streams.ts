/**
 * The open-streams cell (S5) on a fresh target: RSS before, with `count` idle streams open and after; CPU
 * per relayed event while they trickle; then every client disconnects at once and, one second later, the
 * upstream must have no stream left open (cancellation).
 */
import { fileURLToPath } from 'node:url';
import { getJson } from './net.ts';
import { cpuMicros, rssKb } from './proc-stats.ts';
import { firstJsonLine, type Started, start, stop } from './procs.ts';
import type { Target } from './targets.ts';

export interface StreamsResult {
  readonly target: string;
  readonly count: number;
  readonly opened: number;
  readonly upstreamOpenBefore: number;
  readonly rssBeforeMb: number;
  readonly rssDuringMb: number;
  readonly rssAfterMb: number;
  readonly kbPerStream: number;
  readonly cpuUsPerEvent: number;
  /** Upstream streams still open 1 s after the clients disconnected. */
  readonly leaked: number;
  /** ms from the clients' exit until the upstream had no stream open (polled up to 10 s): slow vs never. */
  readonly closedAfterMs: number | undefined;
  /** Upstream streams still open 10 s after the clients left (a real leak, not slowness). */
  readonly leakedAfter10s: number;
  readonly problems: readonly string[];
}

interface UpstreamStats {
  open: number;
  requests: number;
  aborted: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const upstreamStats = (upstreamPort: number): Promise<UpstreamStats> =>
  getJson<UpstreamStats>(`http://127.0.0.1:${upstreamPort}/_bench/stats`);

/** Waits until the upstream has no open stream (left over from an earlier cell), up to `ms`. */
export const upstreamQuiet = async (upstreamPort: number, ms: number): Promise<number> => {
  const deadline = Date.now() + ms;
  let open = (await upstreamStats(upstreamPort)).open;
  while (open > 0 && Date.now() < deadline) {
    await sleep(100);
    open = (await upstreamStats(upstreamPort)).open;
  }
  return open;
};

export const runStreams = async (
  target: Target,
  upstream: Started,
  upstreamPort: number,
  count: number,
): Promise<StreamsResult> => {
  const problems: string[] = [];
  const leftover = await upstreamQuiet(upstreamPort, 35_000);
  if (leftover > 0) problems.push(`${leftover} upstream streams still open from earlier cells`);
  const pid = target.process?.pid;
  await sleep(500);
  const rssBefore = pid === undefined ? 0 : rssKb(pid);
  const client = start('client-streams', process.execPath, [
    fileURLToPath(new URL('./client-streams.ts', import.meta.url)),
    JSON.stringify({ url: `${target.base}/v1/chat/completions`, count, timeoutMs: 30_000 }),
  ]);
  let opened = 0;
  let upstreamOpenBefore = 0;
  let rssDuring = 0;
  let cpuUsPerEvent = 0;
  let leaked = -1;
  let closedAfterMs: number | undefined;
  let leakedAfter10s = -1;
  try {
    const ready = await firstJsonLine<{ opened: number; failed: number }>(client, 45_000);
    opened = ready.opened;
    if (ready.failed > 0 || ready.opened < count)
      problems.push(`${count - ready.opened} streams did not open`);
    upstreamOpenBefore = (await upstreamStats(upstreamPort)).open;
    // Streams trickle one event per second: CPU over 2 s, divided by the events relayed meanwhile.
    const cpu0 = pid === undefined ? cpuMicros(upstream.pid) : cpuMicros(pid);
    await sleep(2000);
    const cpuUs = (pid === undefined ? cpuMicros(upstream.pid) : cpuMicros(pid)) - cpu0;
    cpuUsPerEvent = opened === 0 ? 0 : cpuUs / (opened * 2);
    rssDuring = pid === undefined ? 0 : rssKb(pid);
    client.child.stdin?.write('abort\n');
    await Promise.race([client.exited, sleep(10_000)]);
    // The count 1 s after the clients left is the verdict; the time to zero (up to 10 s) tells slow from leaking.
    const gone = performance.now();
    const since = (): number => performance.now() - gone;
    const openNow = async (): Promise<number> => (await upstreamStats(upstreamPort)).open;
    let open = await openNow();
    while (open > 0 && since() < 1000) {
      await sleep(50);
      open = await openNow();
    }
    leaked = open;
    while (open > 0 && since() < 10_000) {
      await sleep(100);
      open = await openNow();
    }
    if (open === 0) closedAfterMs = since();
    leakedAfter10s = open;
    if (leaked > 0)
      problems.push(`${leaked} of ${opened} upstream streams still open 1 s after the clients left`);
  } catch (error) {
    problems.push((error as Error).message.split('\n')[0] ?? 'streams client failed');
  } finally {
    await stop(client, 500);
  }
  await sleep(1000);
  const rssAfter = pid === undefined ? 0 : rssKb(pid);
  return {
    target: target.name,
    count,
    opened,
    upstreamOpenBefore,
    rssBeforeMb: rssBefore / 1024,
    rssDuringMb: rssDuring / 1024,
    rssAfterMb: rssAfter / 1024,
    kbPerStream: opened === 0 ? 0 : (rssDuring - rssBefore) / opened,
    cpuUsPerEvent,
    leaked,
    closedAfterMs,
    leakedAfter10s,
    problems,
  };
};
