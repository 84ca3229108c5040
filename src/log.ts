/**
 * Structured JSON logs, one object per line on stdout. Small on purpose: the proxy writes one line per
 * request, so the logger must not allocate more than the line itself. Values pass through `redact`
 * so that a credential can never be written even if a caller passes one by mistake.
 */
import { redactText } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Logs at warn at most once per `intervalMs` per key, with the number of suppressed lines. */
  warnRateLimited(key: string, msg: string, fields?: LogFields, intervalMs?: number): void;
  /** Writes out lines batched for this event-loop turn (before the process exits). */
  flush(): void;
}

export interface LogSink {
  write(line: string): unknown;
  /** Bytes accepted but not yet written out (streams); a sink without it is never considered backed up. */
  readonly writableLength?: number;
  /** Streams: `once('drain')` reports the dropped lines as soon as the reader catches up. */
  once?(event: 'drain', listener: () => void): unknown;
}

/**
 * The log queue's limit. stdout is asynchronous for pipes and sockets, so a log reader that stalls (a stuck
 * container runtime, a paused `kubectl logs -f`) would otherwise make every request line pile up in memory. Past
 * this many unwritten bytes lines are dropped and counted; a `log lines dropped` line reports them once the
 * reader catches up.
 */
export const maxLogBufferBytes = 1024 * 1024;

const replacer = (_key: string, value: unknown): unknown => {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  return value;
};

/**
 * With `batch`, the lines of one event-loop turn go out in one write: stdout is a pipe under a container runtime,
 * and a write per request line was a syscall per request (11–17% of llmtap's CPU in the benchmark profiles).
 * Errors are written at once. Defaults to batching only for the process's stdout.
 */
export const createLogger = (
  level: LogLevel,
  sink: LogSink = process.stdout,
  maxBufferedBytes: number = maxLogBufferBytes,
  batch: boolean = sink === process.stdout,
): Logger => {
  const threshold = levelRank[level];
  const lastWarn = new Map<string, { at: number; suppressed: number }>();
  let dropped = 0;
  const reportDropped = (): void => {
    if (dropped === 0) return;
    const count = dropped;
    dropped = 0;
    const note = {
      level: 'warn',
      time: new Date().toISOString(),
      msg: 'log lines dropped',
      count,
      maxBufferedBytes,
    };
    sink.write(`${JSON.stringify(note)}\n`);
  };
  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (levelRank[lvl] < threshold) return;
    if ((sink.writableLength ?? 0) > maxBufferedBytes) {
      if (dropped === 0) sink.once?.('drain', reportDropped);
      dropped += 1;
      return;
    }
    reportDropped();
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }, replacer);
    if (!batch) {
      sink.write(`${line}\n`);
      return;
    }
    pending += `${line}\n`;
    if (lvl === 'error' || pending.length > 64 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const out = pending;
    pending = '';
    sink.write(out);
  };
  return {
    level,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    warnRateLimited(key, msg, fields, intervalMs = 60_000) {
      const now = Date.now();
      const seen = lastWarn.get(key);
      if (seen !== undefined && now - seen.at < intervalMs) {
        seen.suppressed += 1;
        return;
      }
      const suppressed = seen?.suppressed ?? 0;
      // Bounded: keys are stage names and error codes, a small fixed set.
      if (lastWarn.size > 1000) lastWarn.clear();
      lastWarn.set(key, { at: now, suppressed: 0 });
      write('warn', msg, suppressed > 0 ? { ...fields, suppressed } : fields);
    },
    flush,
  };
};
