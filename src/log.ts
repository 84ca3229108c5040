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
}

export interface LogSink {
  write(line: string): unknown;
}

const replacer = (_key: string, value: unknown): unknown => {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  return value;
};

export const createLogger = (level: LogLevel, sink: LogSink = process.stdout): Logger => {
  const threshold = levelRank[level];
  const lastWarn = new Map<string, { at: number; suppressed: number }>();
  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (levelRank[lvl] < threshold) return;
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }, replacer);
    sink.write(`${line}\n`);
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
  };
};
