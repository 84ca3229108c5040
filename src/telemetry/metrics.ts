/**
 * The GenAI client metrics (semconv v1.41.1 §metrics) plus llmtap's cost, overhead and self-health
 * instruments. Only counters and histograms, so DELTA temporality applies to every data point.
 * Bucket boundaries are set through `advice`, which the SDK applies unless a view overrides them.
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { LlmCall } from '../record.ts';
import { baseAttributes, timeToFirstChunk } from './attributes.ts';
import type { CostResult } from './pricing.ts';
import { ATTR, DURATION_BUCKETS, METRIC, OVERHEAD_BUCKETS, TOKEN_BUCKETS } from './semconv.ts';

export interface Instruments {
  record(call: LlmCall, errorType: string | undefined, cost: CostResult | undefined): void;
  recordError(stage: string): void;
  recordDrop(signal: string, reason: string, count: number): void;
}

const histogram = (
  meter: Meter,
  name: string,
  unit: string,
  description: string,
  buckets: readonly number[],
) => meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...buckets] } });

/** The time llmtap adds: request in → upstream request out, plus upstream first byte → client first byte. */
export const proxyOverhead = (call: LlmCall): number | undefined => {
  const { start, upstreamRequestSent, upstreamFirstByte, clientFirstByte } = call.timing;
  if (upstreamRequestSent === undefined || upstreamFirstByte === undefined || clientFirstByte === undefined) {
    return undefined;
  }
  return (Math.max(0, upstreamRequestSent - start) + Math.max(0, clientFirstByte - upstreamFirstByte)) / 1000;
};

export const createInstruments = (meter: Meter): Instruments => {
  const tokenUsage = meter.createHistogram(METRIC.tokenUsage, {
    unit: '{token}',
    description: 'Number of input and output tokens used.',
    valueType: 1, // ValueType.INT
    advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
  });
  const duration = histogram(
    meter,
    METRIC.operationDuration,
    's',
    'GenAI operation duration.',
    DURATION_BUCKETS,
  );
  const ttfc = histogram(
    meter,
    METRIC.timeToFirstChunk,
    's',
    'Time from the request to the first output chunk of a streaming response.',
    DURATION_BUCKETS,
  );
  const tpoc = histogram(
    meter,
    METRIC.timePerOutputChunk,
    's',
    'Mean time between output chunks of a streaming response after the first (one sample per call).',
    DURATION_BUCKETS,
  );
  const overhead = histogram(
    meter,
    METRIC.overhead,
    's',
    'Time llmtap adds to a call: request in to upstream request out, plus upstream first byte to client first byte.',
    OVERHEAD_BUCKETS,
  );
  const cost: Counter = meter.createCounter(METRIC.cost, {
    unit: 'USD',
    description: 'Cost of GenAI calls at list price (llmtap price table).',
  });
  const unpriced: Counter = meter.createCounter(METRIC.unpriced, {
    unit: '{call}',
    description: 'Calls whose cost is unknown (model not in the price table, or usage not reported).',
  });
  const errors: Counter = meter.createCounter(METRIC.telemetryErrors, {
    unit: '{error}',
    description: 'Failures inside llmtap telemetry (decode, framing, parse, pricing, export, observer).',
  });
  const dropped: Counter = meter.createCounter(METRIC.telemetryDropped, {
    unit: '{item}',
    description: 'Spans and metric data points llmtap could not export (queue full, export failed).',
  });

  const recordHistogram = (h: Histogram, value: number | undefined, attrs: Attributes): void => {
    if (value !== undefined && Number.isFinite(value)) h.record(value, attrs);
  };

  return {
    record(call, errorType, costResult) {
      const base = baseAttributes(call);
      const usage = call.response.usage;
      if (usage.inputTokens !== undefined)
        tokenUsage.record(usage.inputTokens, { ...base, [ATTR.tokenType]: 'input' });
      if (usage.outputTokens !== undefined) {
        tokenUsage.record(usage.outputTokens, { ...base, [ATTR.tokenType]: 'output' });
      }
      recordHistogram(
        duration,
        Math.max(0, call.timing.end - call.timing.start) / 1000,
        errorType === undefined ? base : { ...base, [ATTR.errorType]: errorType },
      );
      recordHistogram(ttfc, timeToFirstChunk(call), base);
      const first = call.timing.firstOutput;
      if (call.request.stream && first !== undefined && call.outputChunks >= 2) {
        recordHistogram(tpoc, Math.max(0, call.timing.end - first) / 1000 / (call.outputChunks - 1), base);
      }
      if (costResult !== undefined) {
        if (costResult.priced) cost.add(costResult.cost, base);
        else unpriced.add(1, { ...base, [ATTR.unpricedReason]: costResult.reason });
      }
      recordHistogram(overhead, proxyOverhead(call), {
        [ATTR.operationName]: call.request.operation,
        [ATTR.providerName]: base[ATTR.providerName],
      });
    },
    recordError(stage) {
      errors.add(1, { [ATTR.telemetryStage]: stage });
    },
    recordDrop(signal, reason, count) {
      if (count > 0) dropped.add(count, { [ATTR.telemetrySignal]: signal, [ATTR.dropReason]: reason });
    },
  };
};
