/** CPU and memory figures read from /proc, for processes the bench started and for the machine. */
import { readFileSync } from 'node:fs';
import { childPids } from './procs.ts';

const CLOCK_TICK_US = 10_000; // USER_HZ is 100 on Linux.

/** utime + stime of a process in µs, or 0 when it is gone. */
const cpuOf = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces, start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
  } catch {
    return 0;
  }
};

/** CPU µs of a process and its direct children (nginx master + workers). */
export const cpuMicros = (pid: number): number =>
  childPids(pid).reduce((sum, kid) => sum + cpuOf(kid), cpuOf(pid));

const statusField = (pid: number, field: string): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
};

/** Resident set in KB of a process and its direct children. */
export const rssKb = (pid: number): number =>
  childPids(pid).reduce((sum, kid) => sum + statusField(kid, 'VmRSS'), statusField(pid, 'VmRSS'));

/**
 * CPU µs of this process plus its children that already exited and were reaped (the load generators):
 * with the targets' and upstream's own counters this accounts for everything the bench ran.
 */
export const selfAndReapedMicros = (): number => {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (
      (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_US
    );
  } catch {
    return 0;
  }
};

/** Machine busy time in µs between two samples (all CPUs). */
export const busyMicros = (from: MachineTicks, to: MachineTicks): number =>
  (to.busy - from.busy) * CLOCK_TICK_US;

interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

export const machineTicks = (): MachineTicks => {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
};

export const busyPercent = (from: MachineTicks, to: MachineTicks): number =>
  to.total === from.total ? 0 : (100 * (to.busy - from.busy)) / (to.total - from.total);

/** Samples RSS while a cell runs, to report the peak (VmHWM cannot be reset per cell). */
export const sampleRss = (pids: readonly number[], everyMs = 200) => {
  const peaks = new Map<number, number>(pids.map((pid) => [pid, rssKb(pid)]));
  const tick = (): void => {
    for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, rssKb(pid)));
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop(): Map<number, number> {
      clearInterval(timer);
      tick();
      return peaks;
    },
  };
};
