/**
 * The span processor in place of the SDK's BatchSpanProcessor (#15): each sampled span is encoded to OTLP
 * protobuf in `onEnd` (`span-encoding.ts`) and only its bytes wait for the export, in one shared buffer.
 * No span object outlives its call (the GC never promotes and marks them), and a batch request is the cached
 * resource/scope envelope copied around the queued bytes, so exporting 512 spans is a memcpy, not an encode.
 *
 * `OTEL_BSP_*` keep their meaning: at most `maxQueueSize` spans queued or in flight, a batch of
 * `maxExportBatchSize` goes out as soon as it is full, otherwise `scheduleDelayMs` after the first queued
 * span (the timer never keeps the process alive), and the next batch waits for the previous one's result
 * at most `exportTimeoutMs`. Queued and in-flight bytes are bounded too (`maxQueueBytes`). Spans turned away
 * are counted as `queue_full`, spans whose export failed (or that could not be encoded) as `export_failed`.
 */
import { type Context, TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchBounds } from './env.ts';
import type { DropListener } from './export.ts';
import { ProtoWriter } from './protobuf-writer.ts';
import {
  DOUBLE_ATTRIBUTES,
  type Envelope,
  encodeEnvelope,
  wrapSpans,
  writeSpanEntry,
} from './span-encoding.ts';

/** Bytes of queued and in-flight span data before new spans are dropped (a content-capturing span can be ~100 KB). */
export const MAX_QUEUE_BYTES = 16 * 1024 * 1024;
const INITIAL_BYTES = 64 * 1024;

/** One export request body and how many spans it holds. */
export interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

/** Where batches go: the OTLP/HTTP delegate (`span-exporter.ts`), with its retries, timeout and headers. */
export interface BatchSender {
  export(batch: EncodedBatch, resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export interface QueueBounds extends BatchBounds {
  readonly maxQueueBytes: number;
}

export class EncodingSpanProcessor implements SpanProcessor {
  readonly #sender: BatchSender;
  readonly #bounds: QueueBounds;
  readonly #onDrop: DropListener;
  readonly #writer = new ProtoWriter(INITIAL_BYTES);
  /** End offset in the writer of each queued span entry. */
  #ends: number[] = [];
  /** The pipeline has one tracer, so every span shares one resource and scope: encoded once. */
  #envelope: Envelope | undefined;
  #inFlightSpans = 0;
  #inFlightBytes = 0;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #exporting = false;
  #shutdown: Promise<void> | undefined;

  constructor(sender: BatchSender, bounds: QueueBounds, onDrop: DropListener) {
    this.#sender = sender;
    this.#bounds = {
      ...bounds,
      maxExportBatchSize: Math.min(bounds.maxExportBatchSize, bounds.maxQueueSize),
    };
    this.#onDrop = onDrop;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#shutdown !== undefined) return;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#ends.length + this.#inFlightSpans >= this.#bounds.maxQueueSize) {
      this.#onDrop('traces', 'queue_full', 1);
      return;
    }
    const w = this.#writer;
    const start = w.pos;
    try {
      this.#envelope ??= encodeEnvelope(span.resource, span.instrumentationScope);
      writeSpanEntry(w, span, DOUBLE_ATTRIBUTES);
    } catch {
      w.pos = start;
      this.#onDrop('traces', 'export_failed', 1);
      return;
    }
    if (w.pos + this.#inFlightBytes > this.#bounds.maxQueueBytes) {
      w.pos = start;
      this.#onDrop('traces', 'queue_full', 1);
      return;
    }
    this.#ends.push(w.pos);
    this.#schedule();
  }

  /** Sends everything queued now and waits for every export in flight (each bounded by the export timeout). */
  async forceFlush(): Promise<void> {
    this.#clearTimer();
    while (this.#ends.length > 0) this.#exportOne();
    await Promise.all(this.#inFlight);
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      await this.forceFlush();
      await this.#sender.shutdown();
    })();
    return this.#shutdown;
  }

  /** As the SDK's batch processor: one batch at a time, at once when full, else after the schedule delay. */
  #schedule(): void {
    if (this.#exporting || this.#ends.length === 0) return;
    if (this.#ends.length >= this.#bounds.maxExportBatchSize) {
      this.#exportNext();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#exporting && this.#ends.length > 0) this.#exportNext();
    }, this.#bounds.scheduleDelayMs);
    this.#timer.unref();
  }

  #exportNext(): void {
    this.#clearTimer();
    this.#exporting = true;
    void this.#exportOne().then(() => {
      this.#exporting = false;
      this.#schedule();
    });
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes the oldest batch off the queue and sends it; settles on its result or after the export timeout. */
  #exportOne(): Promise<void> {
    const count = Math.min(this.#ends.length, this.#bounds.maxExportBatchSize);
    const w = this.#writer;
    const end = this.#ends[count - 1] as number;
    const bytes = wrapSpans(this.#envelope as Envelope, w.buf.subarray(0, end));
    w.buf.copyWithin(0, end, w.pos);
    w.pos -= end;
    this.#ends = this.#ends.slice(count).map((offset) => offset - end);
    // A burst of large spans must not keep its buffer for the life of the pod.
    if (w.buf.length > 4 * INITIAL_BYTES && w.pos < w.buf.length / 4) {
      w.resize(Math.max(INITIAL_BYTES, 2 ** Math.ceil(Math.log2(2 * w.pos + 1))));
    }
    this.#inFlightSpans += count;
    this.#inFlightBytes += bytes.length;
    const sent = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#bounds.exportTimeoutMs);
      timer.unref();
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#inFlightSpans -= count;
        this.#inFlightBytes -= bytes.length;
        if (!ok) this.#onDrop('traces', 'export_failed', count);
        resolve();
      };
      try {
        this.#sender.export({ bytes, spans: count }, (result) =>
          settle(result.code === ExportResultCode.SUCCESS),
        );
      } catch {
        settle(false);
      }
    });
    const tracked: Promise<void> = sent.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
    return tracked;
  }
}
