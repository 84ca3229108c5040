/**
 * Structured JSON logs, one object per line on stdout. Small on purpose: the proxy writes one line per
 * request, so the logger must not allocate more than the line itself. Values pass through `redact`
 * so that a credential can never be written even if a caller passes one by mistake.
 *
 * Size: the hand-built line must equal `JSON.stringify` byte for byte, and the queue that batches and bounds it
 * decides what the serializer may assume; apart, that contract would be split over files.
 */
import { redactText } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  /**
   * `info(msg, { ...fields, ...more })` without building the merged object (the access log's line: the exchange's
   * facts, then the observers'). Optional: loggers without it get the merged object.
   */
  infoWith?(msg: string, fields: LogFields, more: LogFields | undefined): void;
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
  /** Streams: a write error (EPIPE when the reader went away, ENOSPC behind a redirect) breaks the sink. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/** What a logger counts about its own output. */
export interface LogCounters {
  /** Lines dropped so far: queue over its limit, or the sink broken. */
  droppedLines(): number;
  /** The error that broke the sink (no line is written after it), or undefined while it works. */
  sinkError(): Error | undefined;
}

/** Told once, with the error, when the sink breaks; must not write to that sink. */
export type SinkErrorListener = (error: Error) => void;

/** True when `logger` writes lines of `level`: callers skip building fields for a line that would be dropped. */
export const logsAt = (logger: Logger, level: Exclude<LogLevel, 'silent'>): boolean =>
  levelRank[level] >= levelRank[logger.level];

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
 * The line `JSON.stringify({ level, time, msg, ...fields, ...more }, replacer)` produces, built by hand: a replacer
 * makes stringify call back into JS for every value, which made the per-request line one of the proxy's largest
 * JS costs. Every string still passes `redactText` (values and `msg`; keys never did); values that are not
 * primitives go through the replacer path unchanged, and field sets whose layout the spread would change
 * (reserved or array-index keys, `toJSON`, a key of `more` already in `fields`) take the original path (''
 * is returned), so the output is identical byte for byte.
 *
 * The pieces are collected in one reused array and joined once (#15: appending member by member made two
 * intermediate strings per member, the largest per-call garbage of the access log); `more` spares the caller
 * the merged object.
 */
const serializeLine = (
  prefix: string,
  msg: string,
  fields: LogFields | undefined,
  more?: LogFields | undefined,
): string => {
  // A getter among the fields that logs would re-enter: it gets its own array.
  const parts = partsBusy ? [] : sharedParts;
  partsBusy = true;
  try {
    parts[0] = prefix;
    let n = pushQuoted(parts, 1, redactText(msg));
    if (fields !== undefined && fields !== null) {
      n = pushMembers(parts, n, fields, undefined);
      if (n < 0) return '';
    }
    if (more !== undefined && more !== null) {
      n = pushMembers(parts, n, more, fields);
      if (n < 0) return '';
    }
    parts[n] = '}';
    // Slots past `n` hold '' (cleared after every line): the array keeps its size, so no line regrows it.
    return parts.join('');
  } finally {
    if (parts === sharedParts) {
      partsBusy = false;
      // Holds no strings between lines.
      parts.fill('');
    }
  }
};

const sharedParts: string[] = [];
let partsBusy = false;

/**
 * Appends `fields`' members at `n`; returns the new count, or -1 when the line must take the generic path
 * (a reserved or index-like key, or a key `earlier` holds, which the spread would override in place).
 */
const pushMembers = (
  parts: string[],
  n: number,
  fields: LogFields,
  earlier: LogFields | undefined,
): number => {
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    if (reservedKeys.has(key) || isIndexLike(key)) return -1;
    if (earlier !== undefined && earlier !== null && Object.hasOwn(earlier, key)) return -1;
    const value = fields[key];
    switch (typeof value) {
      case 'string':
        parts[n++] = memberPrefix(key);
        n = pushQuoted(parts, n, redactText(value));
        break;
      case 'number':
        parts[n++] = memberPrefix(key);
        parts[n++] = Number.isFinite(value) ? `${value}` : 'null';
        break;
      case 'boolean':
        parts[n++] = memberPrefix(key);
        parts[n++] = value ? 'true' : 'false';
        break;
      case 'undefined':
        break;
      default: {
        const json = value === null ? 'null' : JSON.stringify(value, replacer);
        if (json !== undefined) {
          parts[n++] = memberPrefix(key);
          parts[n++] = json;
        }
      }
    }
  }
  return n;
};

/** `JSON.stringify(text)` as pieces at `n`: nothing is built for the common text that needs no escaping. */
const pushQuoted = (parts: string[], n: number, text: string): number => {
  if (needsEscape.test(text)) {
    parts[n] = JSON.stringify(text);
    return n + 1;
  }
  parts[n] = '"';
  parts[n + 1] = text;
  parts[n + 2] = '"';
  return n + 3;
};

/**
 * A character `JSON.stringify` escapes: a quote, a backslash, controls below U+0020 and surrogates (lone ones
 * are escaped; strings with paired ones merely take the slow path). Written as the complement of the safe ranges.
 */
const needsEscape = /[^\u0020\u0021\u0023-\u005b\u005d-\ud7ff\ue000-\uffff]/;

/** `,"key":` per field name. Names come from code, so the cache stays small; the cap is a backstop. */
const memberPrefixes = new Map<string, string>();
const memberPrefix = (key: string): string => {
  let prefix = memberPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `,${JSON.stringify(key)}:`;
    if (memberPrefixes.size < 1024) memberPrefixes.set(key, prefix);
  }
  return prefix;
};

/** Keys the spread would put elsewhere than after `msg` (or that change how stringify treats the object). */
const reservedKeys: ReadonlySet<string> = new Set(['level', 'time', 'msg', 'toJSON']);

/** Array-index keys come first in an object whatever the insertion order; such lines take the generic path. */
const isIndexLike = (key: string): boolean => {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57;
};

const linePrefix: Readonly<Record<Exclude<LogLevel, 'silent'>, string>> = {
  debug: '{"level":"debug","time":"',
  info: '{"level":"info","time":"',
  warn: '{"level":"warn","time":"',
  error: '{"level":"error","time":"',
};

/**
 * `new Date().toISOString()` without formatting a date per line: the text up to the seconds is kept per second
 * and the milliseconds appended (the format has a fixed `.sssZ` tail, whatever the year).
 */
let isoSecond = Number.NaN;
let isoSecondText = '';
const isoNow = (): string => {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoSecondText = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const milli = ms - second * 1000;
  return `${isoSecondText}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
};

/**
 * The log line for `level`, `msg` and `fields` (then `more`), exactly as `JSON.stringify` of
 * `{ level, time, msg, ...fields, ...more }` with the redacting replacer.
 */
export const formatLine = (
  lvl: Exclude<LogLevel, 'silent'>,
  msg: string,
  fields?: LogFields,
  more?: LogFields,
): string => {
  const time = isoNow();
  const fast =
    typeof msg === 'string' ? serializeLine(`${linePrefix[lvl]}${time}","msg":`, msg, fields, more) : '';
  if (fast !== '') return fast;
  return JSON.stringify(
    more === undefined ? { level: lvl, time, msg, ...fields } : { level: lvl, time, msg, ...fields, ...more },
    replacer,
  );
};

/** The one line on stderr that says stdout broke (stderr may be broken too: then there is no one to tell). */
const reportOnStderr: SinkErrorListener = (error) => {
  const code = (error as { code?: unknown }).code;
  try {
    process.stderr.write(
      `llmtap: log output failed (${typeof code === 'string' ? code : error.name}): log lines are dropped and counted from now on\n`,
    );
  } catch {
    // Nothing left to report to.
  }
};

/**
 * With `batch`, the lines of one event-loop turn go out in one write: stdout is a pipe under a container runtime,
 * and a write per request line was a syscall per request (11–17% of llmtap's CPU in the benchmark profiles).
 * Errors are written at once. Defaults to batching only for the process's stdout.
 *
 * A sink that fails (its reader went away, the disk behind a redirect is full) is broken for good: every later
 * line is dropped and counted, and `onSinkError` is told once. Without this, the stream's unhandled 'error'
 * became an uncaught exception whose log line failed again, one fault per tick: the process spun at 100% CPU,
 * starved its sockets and never got to its SIGTERM handler (stdout's destroy is a no-op, so writes never stop
 * failing on their own).
 */
export const createLogger = (
  level: LogLevel,
  sink: LogSink = process.stdout,
  maxBufferedBytes: number = maxLogBufferBytes,
  batch: boolean = sink === process.stdout,
  onSinkError: SinkErrorListener | undefined = sink === process.stdout ? reportOnStderr : undefined,
): Logger & LogCounters => {
  const threshold = levelRank[level];
  const lastWarn = new Map<string, { at: number; suppressed: number }>();
  let dropped = 0;
  let droppedTotal = 0;
  let broken: Error | undefined;
  const breakSink = (error: unknown): void => {
    if (broken !== undefined) return;
    broken = error instanceof Error ? error : new Error(String(error));
    try {
      onSinkError?.(broken);
    } catch {
      // Reporting a broken log sink must not become a fault of its own.
    }
  };
  sink.on?.('error', breakSink);
  /** Writes `text` (holding `lines` lines) unless the sink is broken; a sink that throws is broken too. */
  const put = (text: string, lines: number): void => {
    if (broken === undefined) {
      try {
        sink.write(text);
        return;
      } catch (error) {
        breakSink(error);
      }
    }
    droppedTotal += lines;
  };
  const reportDropped = (): void => {
    if (dropped === 0 || broken !== undefined) return;
    const count = dropped;
    dropped = 0;
    const note = {
      level: 'warn',
      time: new Date().toISOString(),
      msg: 'log lines dropped',
      count,
      maxBufferedBytes,
    };
    put(`${JSON.stringify(note)}\n`, 1);
  };
  const write = (
    lvl: Exclude<LogLevel, 'silent'>,
    msg: string,
    fields?: LogFields,
    more?: LogFields,
  ): void => {
    if (levelRank[lvl] < threshold) return;
    if (broken !== undefined) {
      droppedTotal += 1;
      return;
    }
    if ((sink.writableLength ?? 0) > maxBufferedBytes) {
      if (dropped === 0) sink.once?.('drain', reportDropped);
      dropped += 1;
      droppedTotal += 1;
      return;
    }
    reportDropped();
    const line = formatLine(lvl, msg, fields, more);
    if (!batch) {
      put(`${line}\n`, 1);
      return;
    }
    pending += `${line}\n`;
    pendingLines += 1;
    if (lvl === 'error' || pending.length > 64 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  let pending = '';
  let pendingLines = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const out = pending;
    const lines = pendingLines;
    pending = '';
    pendingLines = 0;
    put(out, lines);
  };
  return {
    level,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    infoWith: (msg, fields, more) => write('info', msg, fields, more),
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
    droppedLines: () => droppedTotal,
    sinkError: () => broken,
  };
};
