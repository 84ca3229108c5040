/**
 * V8's `--trace-gc-nvp` lines, read into what the GC cost per call: bytes allocated and promoted, scavenges and
 * full collections, main-thread pauses and the background threads' work (gc-ledger.ts runs the proxies).
 * One line per collection: `[pid:isolate]  13432 ms: pause=3.5 mutator=30.0 gc=s … allocated=4520832 promoted=…`.
 */

export interface GcEvent {
  /** Milliseconds since the isolate started. */
  readonly atMs: number;
  readonly kind: 'scavenge' | 'full';
  /** Main-thread atomic pause. */
  readonly pauseMs: number;
  /** Main-thread incremental marking steps before a full collection's pause. */
  readonly incrementalMs: number;
  /** Every `background.*` phase (parallel scavenging, concurrent marking, sweeping) summed. */
  readonly backgroundMs: number;
  /** Bytes allocated since the previous collection. */
  readonly allocated: number;
  /** Bytes moved from the young to the old generation. */
  readonly promoted: number;
}

const AT = /\s(\d+(?:\.\d+)?) ms: /;
const FIELD = /([\w.]+)=(-?[\d.]+)(?=\s|$)/g;

/** One nvp line, or undefined for anything else the process printed (llmtap's own log lines). */
export const parseNvpLine = (line: string): GcEvent | undefined => {
  const at = AT.exec(line);
  const gc = /\sgc=(\w+)\s/.exec(line);
  if (at === null || gc === null || !line.includes(' pause=')) return undefined;
  const fields = new Map<string, number>();
  for (const match of line.matchAll(FIELD)) fields.set(match[1] as string, Number(match[2]));
  let backgroundMs = 0;
  for (const [name, value] of fields) if (name.startsWith('background.')) backgroundMs += value;
  // s: scavenge, ms: minor mark-sweep (young generation); mc / mmc: (memory-reducing) mark-compact.
  const young = gc[1] === 's' || gc[1] === 'ms';
  return {
    atMs: Number(at[1]),
    kind: young ? 'scavenge' : 'full',
    pauseMs: fields.get('pause') ?? 0,
    incrementalMs: young ? 0 : (fields.get('incremental') ?? 0),
    backgroundMs,
    allocated: fields.get('allocated') ?? 0,
    promoted: fields.get('promoted') ?? 0,
  };
};

export interface GcLedger {
  readonly calls: number;
  readonly allocatedBytesPerCall: number;
  readonly promotedBytesPerCall: number;
  readonly scavengesPer1kCalls: number;
  readonly fullGcsPer1kCalls: number;
  /** Main thread: scavenge pauses. */
  readonly scavengePauseUsPerCall: number;
  /** Main thread: full-collection pauses and incremental marking steps. */
  readonly fullGcMainUsPerCall: number;
  /** V8's helper threads. */
  readonly backgroundUsPerCall: number;
}

/** The collections between `fromMs` and `toMs` (isolate time) spread over the `calls` served meanwhile. */
export const gcLedger = (
  events: readonly GcEvent[],
  fromMs: number,
  toMs: number,
  calls: number,
): GcLedger => {
  let allocated = 0;
  let promoted = 0;
  let scavenges = 0;
  let fulls = 0;
  let scavengePause = 0;
  let fullMain = 0;
  let background = 0;
  for (const event of events) {
    if (event.atMs < fromMs || event.atMs >= toMs) continue;
    allocated += event.allocated;
    promoted += event.promoted;
    background += event.backgroundMs;
    if (event.kind === 'scavenge') {
      scavenges += 1;
      scavengePause += event.pauseMs;
    } else {
      fulls += 1;
      fullMain += event.pauseMs + event.incrementalMs;
    }
  }
  const per = (value: number): number => (calls > 0 ? value / calls : Number.NaN);
  return {
    calls,
    allocatedBytesPerCall: per(allocated),
    promotedBytesPerCall: per(promoted),
    scavengesPer1kCalls: per(scavenges * 1000),
    fullGcsPer1kCalls: per(fulls * 1000),
    scavengePauseUsPerCall: per(scavengePause * 1000),
    fullGcMainUsPerCall: per(fullMain * 1000),
    backgroundUsPerCall: per(background * 1000),
  };
};
