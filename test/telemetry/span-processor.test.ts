/**
 * The span processor that encodes spans when they end (#15): `OTEL_BSP_*` keep their meaning (queue size
 * counting spans in flight, batch size, schedule delay, export timeout), bytes are bounded too, and every span
 * turned away or lost is counted (`queue_full`, `export_failed`). Time runs on fake timers; the sender is a
 * stand-in that records each request body and answers when the test says so.
 */
import type { ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, type ReadableSpan, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DropReason } from '../../src/telemetry/export.ts';
import {
  type BatchSender,
  type EncodedBatch,
  EncodingSpanProcessor,
  type QueueBounds,
} from '../../src/telemetry/span-processor.ts';
import { decodeSpans } from '../helpers/otlp-receiver.ts';

interface Sent {
  readonly batch: EncodedBatch;
  readonly answer: (ok: boolean) => void;
}

const setup = (bounds: Partial<QueueBounds>, answer: 'ok' | 'fail' | 'never' | 'throw' = 'ok') => {
  const sent: Sent[] = [];
  const drops: [DropReason, number][] = [];
  let shutDown = false;
  const sender: BatchSender = {
    export(batch, callback: (result: ExportResult) => void) {
      if (answer === 'throw') throw new Error('socket exploded');
      const respond = (ok: boolean) => callback({ code: ok ? 0 : 1 });
      sent.push({ batch, answer: respond });
      if (answer !== 'never') respond(answer === 'ok');
    },
    async shutdown() {
      shutDown = true;
    },
  };
  const processor = new EncodingSpanProcessor(
    sender,
    {
      maxQueueSize: 100,
      maxExportBatchSize: 4,
      scheduleDelayMs: 1000,
      exportTimeoutMs: 30_000,
      maxQueueBytes: 1 << 20,
      ...bounds,
    },
    (signal, reason, count) => {
      expect(signal).toBe('traces');
      drops.push([reason, count]);
    },
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'chat-app' }),
    sampler: new AlwaysOnSampler(),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('llmtap', '1.2.3');
  let n = 0;
  const end = (count: number, attributes: Record<string, string> = {}) => {
    for (let i = 0; i < count; i++) tracer.startSpan(`span ${n++}`, { attributes }).end();
  };
  const names = () => sent.map((s) => decodeSpans(Buffer.from(s.batch.bytes)).map((span) => span.name));
  return { processor, sent, drops, end, names, isShutDown: () => shutDown };
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('EncodingSpanProcessor', () => {
  it('sends a full batch at once and the rest after the schedule delay, in order, one request per batch', async () => {
    const { sent, end, names } = setup({});
    end(10);
    await vi.advanceTimersByTimeAsync(0);
    expect(names()).toEqual([
      ['span 0', 'span 1', 'span 2', 'span 3'],
      ['span 4', 'span 5', 'span 6', 'span 7'],
    ]);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(names()[2]).toEqual(['span 8', 'span 9']);
    expect(sent.map((s) => s.batch.spans)).toEqual([4, 4, 2]);
  });

  it('counts spans in flight against the queue size: what does not fit is dropped as queue_full', async () => {
    const { sent, drops, end, processor } = setup({ maxQueueSize: 5, maxExportBatchSize: 2 }, 'never');
    end(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1); // the next batch waits for this one's answer
    expect(drops).toEqual([
      ['queue_full', 1],
      ['queue_full', 1],
      ['queue_full', 1],
    ]);
    sent[0]?.answer(true);
    await vi.advanceTimersByTimeAsync(0);
    end(2);
    expect(drops).toHaveLength(3);
    const flushed = processor.forceFlush();
    for (const s of sent.slice(1)) s.answer(true);
    await vi.advanceTimersByTimeAsync(0);
    await flushed;
    expect(sent.reduce((total, s) => total + s.batch.spans, 0)).toBe(7);
  });

  it('bounds the queued bytes: a span that would pass maxQueueBytes is dropped as queue_full', async () => {
    const { drops, end, processor, names } = setup({ maxQueueBytes: 1000, maxExportBatchSize: 100 });
    end(4, { 'gen_ai.input.messages': 'x'.repeat(300) });
    expect(drops).toEqual([
      ['queue_full', 1],
      ['queue_full', 1],
    ]);
    await processor.forceFlush();
    expect(names()).toEqual([['span 0', 'span 1']]);
  });

  it('counts the spans of a failed export, or of an export that throws, as export_failed', async () => {
    const failing = setup({}, 'fail');
    failing.end(5);
    await failing.processor.forceFlush();
    expect(failing.drops).toEqual([
      ['export_failed', 4],
      ['export_failed', 1],
    ]);
    const throwing = setup({}, 'throw');
    throwing.end(3);
    await throwing.processor.forceFlush();
    expect(throwing.drops).toEqual([['export_failed', 3]]);
  });

  it('starts the next batch once the previous one has been unanswered for the export timeout', async () => {
    const { sent, end } = setup({ maxExportBatchSize: 2, exportTimeoutMs: 500 }, 'never');
    end(4);
    await vi.advanceTimersByTimeAsync(499);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
  });

  it('never encodes an unsampled span, and counts a span it cannot encode as export_failed without harm to the queue', async () => {
    const { processor, drops, end, names } = setup({});
    const unreadable = (traceFlags: number) =>
      ({
        spanContext: () => ({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags }),
        get attributes(): never {
          throw new Error('read');
        },
        name: 'unreadable',
        kind: 0,
        startTime: [1, 0],
        endTime: [2, 0],
        resource: resourceFromAttributes({}),
        instrumentationScope: { name: 'llmtap' },
      }) as unknown as ReadableSpan;
    end(1);
    expect(() => processor.onEnd(unreadable(0))).not.toThrow();
    expect(drops).toEqual([]);
    expect(() => processor.onEnd(unreadable(1))).not.toThrow();
    expect(drops).toEqual([['export_failed', 1]]);
    end(1);
    await processor.forceFlush();
    expect(names()).toEqual([['span 0', 'span 1']]);
  });

  it('forceFlush sends every queued span in batches; shutdown flushes, shuts the sender down, ignores later spans', async () => {
    const { processor, sent, end, names, isShutDown } = setup({
      maxExportBatchSize: 512,
      maxQueueSize: 2048,
    });
    end(1100);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.batch.spans)).toEqual([512, 512]);
    await processor.forceFlush();
    expect(sent.map((s) => s.batch.spans)).toEqual([512, 512, 76]);
    expect(names().flat()).toEqual(Array.from({ length: 1100 }, (_, i) => `span ${i}`));
    end(3);
    await processor.shutdown();
    expect(isShutDown()).toBe(true);
    expect(sent.map((s) => s.batch.spans)).toEqual([512, 512, 76, 3]);
    end(2);
    await processor.forceFlush();
    expect(sent).toHaveLength(4);
  });
});
