/**
 * The call feed behind the live view, `GET /calls` and `llmtap calls`: a bounded ring buffer of the recent
 * calls, their progress while they run, per-model totals and per-minute counts since start.
 *
 * It wraps the telemetry observer, so a call appears here with exactly the fields of its log line (the
 * observer's log fields plus the proxy's `route`, `status` and `durationMs`), redacted the same way.
 *
 * Cost: a call pays only for keeping references. A finished call is kept as the facts its record is built from
 * (the log fields telemetry made anyway, a few numbers) in a ring that grows on demand up to `capacity`; its
 * record and JSON text are built, redacted and cached when someone reads it, and events only while someone
 * listens (#15: formatting every call's record up front cost ~9 µs per call that nobody looked at). Captured
 * message content (only when content capture is on) is serialised at once, because the call's content must not be
 * retained, and kept beside it under a total character budget, oldest dropped first.
 *
 * Size: the ring, the running calls and the totals share one memory budget and one update path.
 */
import type { CallObservation, CallObserver } from '../call-observer.ts';
import type { LogFields } from '../log.ts';
import type { CallContext } from '../proxy/tap.ts';
import type { LlmCall, RequestFacts } from '../record.ts';
import { clip, type DoneCall, doneRecord, type FeedCall, type LiveCall, liveRecord } from './feed-record.ts';

export type { CallState, FeedCall } from './feed-record.ts';

/** Per (provider, model) since start. */
export interface ModelTotal {
  readonly provider: string;
  readonly model: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  reasoningTokens: number;
  /** Absent until a call of this model was priced (unknown is never $0). */
  costUsd?: number;
}

/** One minute of traffic (calls finished in it). `minute` is epoch minutes. */
export interface MinuteBucket {
  minute: number;
  calls: number;
  errors: number;
  tokens: number;
}

/** What a subscriber receives: a finished call carries its model's new total and its minute's new counts. */
export interface FeedEvent {
  readonly call: FeedCall;
  readonly total?: ModelTotal;
  readonly minute?: MinuteBucket;
}

export interface FeedOptions {
  /** Finished calls kept. */
  readonly capacity: number;
  /** Keep captured content for the detail view (only when content capture is on). */
  readonly captureContent: boolean;
  /** Characters of captured content kept across all calls of the ring; default 1,000,000. */
  readonly maxContentChars?: number;
  /** Turns captured content into the (redacted, capped) JSON attributes telemetry exports. */
  readonly contentOf?: (call: LlmCall) => Readonly<Record<string, unknown>> | undefined;
  readonly now?: () => number;
}

export interface CallFeed {
  /** Wraps the telemetry observer: the feed sees every call it sees, with its log fields. */
  observe(inner: CallObserver): CallObserver;
  /** Recent calls, newest first, in progress ones first; at most `limit`. As JSON text (an array). */
  callsJson(limit?: number): string;
  /** One call's full record (with captured content when kept), or undefined when it left the ring. */
  recordJson(id: number): string | undefined;
  /** Per-model totals, most calls first. */
  totals(): ModelTotal[];
  /** The last `count` minutes, oldest first (minutes without calls are absent). */
  minutes(count?: number): MinuteBucket[];
  readonly capacity: number;
  readonly captureContent: boolean;
  /** Finished calls seen since start. */
  readonly finished: number;
  /** Characters held by the ring (call texts built for readers so far, and content), for the memory account. */
  heldChars(): number;
  /** `listener` gets every change; returns the unsubscribe function. Events are built only while one listens. */
  listen(listener: (event: FeedEvent) => void): () => void;
}

/** Distinct (provider, model) totals; the rest are summed under `(other)`. */
const maxTotals = 256;
/** In-flight calls shown live; past it a call appears only when it finishes. */
const maxLive = 1024;
const minutesKept = 60;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export const createCallFeed = (options: FeedOptions): CallFeed => {
  const capacity = Math.max(1, Math.floor(options.capacity));
  const now = options.now ?? Date.now;
  const maxContentChars = options.maxContentChars ?? 1_000_000;
  // The ring grows as calls arrive: an idle llmtap holds empty arrays.
  const entries: DoneCall[] = [];
  const contents: (string | undefined)[] = [];
  let next = 0;
  let textChars = 0;
  let contentChars = 0;
  let finished = 0;
  let lastId = 0;
  const live = new Map<number, LiveCall>();
  const totals = new Map<string, ModelTotal>();
  const minuteRing: (MinuteBucket | undefined)[] = [];
  const listeners = new Set<(event: FeedEvent) => void>();

  const emit = (build: () => FeedEvent): void => {
    if (listeners.size === 0) return;
    const event = build();
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own; the feed and the call go on.
      }
    }
  };

  const store = (entry: DoneCall, content: string | undefined): void => {
    let slot: number;
    if (entries.length < capacity) {
      slot = entries.length;
      entries.push(entry);
      contents.push(undefined);
    } else {
      slot = next;
      textChars -= (entries[slot] as DoneCall).text?.length ?? 0;
      contentChars -= contents[slot]?.length ?? 0;
      entries[slot] = entry;
      contents[slot] = undefined;
      next = (next + 1) % capacity;
    }
    if (content !== undefined && content.length <= maxContentChars) {
      contents[slot] = content;
      contentChars += content.length;
      // Over budget: the oldest calls lose their content first (the newest is kept).
      for (let i = 0; contentChars > maxContentChars && i < entries.length; i++) {
        const oldest = (next + i) % entries.length;
        if (oldest === slot) continue;
        const held = contents[oldest];
        if (held === undefined) continue;
        contentChars -= held.length;
        contents[oldest] = undefined;
      }
    }
  };

  const slotOf = (id: number): number => {
    // Ids grow by one per call and the ring holds the newest `capacity`: binary search over the wrapped order.
    let lo = 0;
    let hi = entries.length - 1;
    const start = entries.length < capacity ? 0 : next;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const slot = (start + mid) % entries.length;
      const at = (entries[slot] as DoneCall).id;
      if (at === id) return slot;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };

  /** `clip` of the few distinct providers and models every call names: computed once, not per call. */
  const clipped = new Map<string, string>();
  const clipOnce = (value: string): string => {
    let out = clipped.get(value);
    if (out === undefined) {
      out = clip(value);
      if (clipped.size >= maxTotals) clipped.clear();
      clipped.set(value, out);
    }
    return out;
  };
  const textField = (fields: LogFields | undefined, key: string): string | undefined => {
    const value = fields?.[key];
    return typeof value === 'string' ? value : undefined;
  };

  /** The per-model totals and the minute's counts, from the same fields (clipped alike) the record shows. */
  const account = (entry: DoneCall): { total: ModelTotal; minute: MinuteBucket } => {
    const call = entry.fields ?? {};
    const provider = clipOnce(textField(call, 'provider') ?? entry.provider);
    const modelName = textField(call, 'responseModel') ?? textField(call, 'model');
    const model = modelName === undefined ? '' : clipOnce(modelName);
    let key = `${provider}\u0001${model}`;
    let total = totals.get(key);
    if (total === undefined) {
      if (totals.size >= maxTotals - 1) key = '\u0000other';
      total = totals.get(key);
      if (total === undefined) {
        total = {
          provider: key === '\u0000other' ? '(other)' : provider,
          model: key === '\u0000other' ? '(other)' : model,
          calls: 0,
          errors: 0,
          inputTokens: 0,
          outputTokens: 0,
          cacheReadTokens: 0,
          reasoningTokens: 0,
        };
        totals.set(key, total);
      }
    }
    const failed = textField(call, 'errorType') !== undefined;
    total.calls += 1;
    if (failed) total.errors += 1;
    total.inputTokens += num(call.inputTokens);
    total.outputTokens += num(call.outputTokens);
    total.cacheReadTokens += num(call.cacheReadTokens);
    total.reasoningTokens += num(call.reasoningTokens);
    if (typeof call.costUsd === 'number' && Number.isFinite(call.costUsd)) {
      total.costUsd = (total.costUsd ?? 0) + call.costUsd;
    }
    const minuteOf = Math.floor(now() / 60_000);
    const slot = minuteOf % minutesKept;
    let minute = minuteRing[slot];
    if (minute === undefined || minute.minute !== minuteOf) {
      minute = { minute: minuteOf, calls: 0, errors: 0, tokens: 0 };
      minuteRing[slot] = minute;
    }
    minute.calls += 1;
    if (failed) minute.errors += 1;
    minute.tokens += num(call.inputTokens) + num(call.outputTokens);
    return { total, minute };
  };

  /** A finished call's JSON text, built on its first read and kept (it is then counted as held). */
  const textOf = (entry: DoneCall): string => {
    if (entry.text === undefined) {
      entry.text = JSON.stringify(doneRecord(entry));
      textChars += entry.text.length;
    }
    return entry.text;
  };

  const finish = (id: number, context: CallContext, call: LlmCall, fields: LogFields | undefined): void => {
    live.delete(id);
    const entry: DoneCall = {
      id,
      start: call.timing.start,
      end: call.timing.end,
      route: context.route.prefix,
      fields,
      provider: call.provider,
      operation: call.request.operation,
      status: call.httpStatus,
      responseId: call.response.responseId,
      finishReasons: call.response.finishReasons,
      serverAddress: call.serverAddress,
      serverPort: call.serverPort,
      truncated: call.truncated,
      text: undefined,
    };
    let content: string | undefined;
    if (options.captureContent && options.contentOf !== undefined) {
      const attributes = options.contentOf(call);
      if (attributes !== undefined && Object.keys(attributes).length > 0)
        content = JSON.stringify(attributes);
    }
    finished += 1;
    store(entry, content);
    const { total, minute } = account(entry);
    if (listeners.size !== 0)
      emit(() => ({ call: doneRecord(entry), total: { ...total }, minute: { ...minute } }));
  };

  /** A running call's record to listeners (the caller checked that someone listens). */
  const emitLive = (call: LiveCall): void => emit(() => ({ call: liveRecord(call) }));

  /**
   * One call as the feed observes it: forwards to telemetry's observation and records the call's progress in
   * place (nothing is formatted unless someone reads or listens). A class, not an object of closures: #15
   * counts per-call garbage, and this is one object per call with its methods shared.
   */
  class FeedObservation implements CallObservation {
    readonly upstreamHeaders: Readonly<Record<string, string>> | undefined;
    readonly #inner: CallObservation;
    readonly #id: number;
    readonly #context: CallContext;
    readonly #current: LiveCall | undefined;
    #sawOutput = false;

    constructor(inner: CallObservation, id: number, context: CallContext, current: LiveCall | undefined) {
      this.#inner = inner;
      this.#id = id;
      this.#context = context;
      this.#current = current;
      this.upstreamHeaders = inner.upstreamHeaders;
    }

    finish(call: LlmCall): LogFields | undefined {
      const fields = this.#inner.finish(call);
      try {
        finish(this.#id, this.#context, call, fields);
      } catch {
        live.delete(this.#id);
      }
      return fields;
    }

    responding(request: RequestFacts, status: number, at: number): void {
      this.#inner.responding?.(request, status, at);
      const current = this.#current;
      if (current === undefined) return;
      current.state = request.stream ? 'streaming' : 'waiting';
      current.request = request;
      current.status = status;
      this.#changed();
    }

    // Per chunk: forwarded to telemetry; the feed only marks the first (time to first token).
    outputChunk(at: number): void {
      this.#inner.outputChunk?.(at);
      if (this.#sawOutput) return;
      this.#sawOutput = true;
      try {
        const current = this.#current;
        if (current === undefined) return;
        current.ttfcMs = Math.round((at - this.#context.start) * 1000) / 1000;
        this.#changed();
      } catch {
        // Never throws (the contract of outputChunk).
      }
    }

    #changed(): void {
      const current = this.#current;
      if (current === undefined || listeners.size === 0 || !live.has(this.#id)) return;
      emitLive(current);
    }
  }

  return {
    capacity,
    captureContent: options.captureContent,
    get finished() {
      return finished;
    },
    observe(inner: CallObserver): CallObserver {
      const openSession = inner.openSession?.bind(inner);
      return {
        // Session spans (realtime sockets) are telemetry's alone; their calls come through start().
        ...(openSession === undefined ? {} : { openSession }),
        start(context: CallContext): CallObservation {
          const observation = inner.start(context);
          lastId += 1;
          const id = lastId;
          let current: LiveCall | undefined;
          if (live.size < maxLive) {
            current = {
              id,
              start: context.start,
              state: 'waiting',
              route: context.route.prefix,
              provider: context.route.providerName ?? context.route.provider,
              request: undefined,
              status: undefined,
              ttfcMs: undefined,
            };
            live.set(id, current);
            if (listeners.size !== 0) emitLive(current);
          }
          return new FeedObservation(observation, id, context, current);
        },
      };
    },
    callsJson(limit = capacity) {
      const parts: string[] = [];
      const liveCalls = [...live.values()].reverse();
      for (const call of liveCalls) {
        if (parts.length >= limit) break;
        parts.push(JSON.stringify(liveRecord(call)));
      }
      // The newest is just before `next` (which is 0 until the ring is full, then the oldest slot).
      for (let i = 0; i < entries.length && parts.length < limit; i++) {
        parts.push(textOf(entries[(next - 1 - i + 2 * entries.length) % entries.length] as DoneCall));
      }
      return `[${parts.join(',')}]`;
    },
    recordJson(id) {
      const liveCall = live.get(id);
      if (liveCall !== undefined) return JSON.stringify(liveRecord(liveCall));
      const slot = slotOf(id);
      if (slot < 0) return undefined;
      const text = textOf(entries[slot] as DoneCall);
      const content = contents[slot];
      return content === undefined ? text : `${text.slice(0, -1)},"content":${content}}`;
    },
    totals() {
      return [...totals.values()].map((total) => ({ ...total })).sort((a, b) => b.calls - a.calls);
    },
    minutes(count = minutesKept) {
      const current = Math.floor(now() / 60_000);
      return minuteRing
        .filter((bucket): bucket is MinuteBucket => bucket !== undefined && bucket.minute > current - count)
        .map((bucket) => ({ ...bucket }))
        .sort((a, b) => a.minute - b.minute);
    },
    heldChars: () => textChars + contentChars,
    listen(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
};
