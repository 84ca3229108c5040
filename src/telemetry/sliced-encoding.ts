/**
 * Span batches encoded in slices, so that exporting never holds the event loop for long (#15).
 *
 * The SDK's serializer turns a whole batch (up to 512 spans) into protobuf in one synchronous call: ~15 µs
 * per span, ~8 ms per full batch, during which no forwarded chunk moves. Here the same serializer runs on
 * slices of a few spans, yielding to the event loop (setImmediate: pending I/O first) whenever a time budget
 * is used up, and the slices' bytes are concatenated into one request body.
 *
 * Concatenating encoded `ExportTraceServiceRequest`s is itself a valid `ExportTraceServiceRequest`: its only
 * field, `repeated ResourceSpans resource_spans = 1`, is appended to by each part (protobuf merge rules). A
 * receiver sees the same spans with the same resource and scope; the resource and scope are repeated once per
 * slice (~0.5 KB each, ~1% of a full batch). Still one HTTP request per batch.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface SliceOptions {
  /** Spans per serializer call. */
  readonly sliceSpans: number;
  /** Encode slices back to back until this much time has passed, then yield. */
  readonly budgetMs: number;
  readonly now?: () => number;
  /** How to give the event loop a turn; `setImmediate` by default. */
  readonly yieldTurn?: () => Promise<unknown>;
}

export const DEFAULT_SLICES: SliceOptions = { sliceSpans: 16, budgetMs: 1 };

const concat = (parts: readonly Uint8Array[], total: number): Uint8Array => {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/**
 * Serializes `items` slice by slice with `serialize` (which must produce a message whose encodings can be
 * concatenated, as OTLP export requests can); undefined when every slice serialized to nothing.
 */
export const encodeInSlices = async <T>(
  items: readonly T[],
  serialize: (slice: T[]) => Uint8Array | undefined,
  options: SliceOptions = DEFAULT_SLICES,
): Promise<Uint8Array | undefined> => {
  const now = options.now ?? performance.now.bind(performance);
  const yieldTurn = options.yieldTurn ?? nextTurn;
  const step = Math.max(1, Math.floor(options.sliceSpans));
  const parts: Uint8Array[] = [];
  let total = 0;
  let started = now();
  for (let i = 0; i < items.length; i += step) {
    const bytes = serialize(items.slice(i, i + step));
    if (bytes !== undefined && bytes.length > 0) {
      parts.push(bytes);
      total += bytes.length;
    }
    if (i + step < items.length && now() - started >= options.budgetMs) {
      await yieldTurn();
      started = now();
    }
  }
  return parts.length === 0 ? undefined : concat(parts, total);
};
