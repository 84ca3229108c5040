/**
 * The GenAI client metrics (semconv v1.41.1 §metrics) plus llmtap's cost, overhead and self-health
 * instruments, aggregated in pre-bound streams (`aggregation.ts`) and read by the SDK's periodic metric
 * reader through the `MetricProducer` interface. Only counters and histograms, so DELTA temporality applies
 * to every data point; which temporality is used is the exporter's choice (its preference setting).
 *
 * Size: the instruments and the per-call series cache that records into them are one unit (the cache is valid
 * only between two collections of these streams).
 */
import { type Attributes, ValueType } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  type AggregationTemporality,
  type CollectionResult,
  InstrumentType,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { LlmCall } from '../record.ts';
import { HistogramPoint, HistogramStream, type SumPoint, SumStream } from './aggregation.ts';
import { baseAttributes, timeToFirstChunk } from './attributes.ts';
import type { CostResult } from './pricing.ts';
import { createSafetyInstruments } from './safety.ts';
import { ATTR, DURATION_BUCKETS, METRIC, OVERHEAD_BUCKETS, TOKEN_BUCKETS } from './semconv.ts';

export interface Instruments extends MetricProducer {
  record(
    call: LlmCall,
    errorType: string | undefined,
    cost: CostResult | undefined,
    chunkGaps?: OutputChunkGaps | undefined,
  ): void;
  recordError(stage: string): void;
  recordDrop(signal: string, reason: string, count: number): void;
}

/** The time llmtap adds: request in → upstream request out, plus upstream first byte → client first byte. */
export const proxyOverhead = (call: LlmCall): number | undefined => {
  const { start, upstreamRequestSent, upstreamFirstByte, clientFirstByte } = call.timing;
  if (upstreamRequestSent === undefined || upstreamFirstByte === undefined || clientFirstByte === undefined) {
    return undefined;
  }
  return (Math.max(0, upstreamRequestSent - start) + Math.max(0, clientFirstByte - upstreamFirstByte)) / 1000;
};

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * One call's gaps between output chunks (end of the previous chunk → end of this one, semconv's
 * `time_per_output_chunk`), held in a histogram of the metric's own buckets: constant memory per stream
 * however long it runs, and a bucket search per chunk. Merged into the call's series when it finishes,
 * because the series' attributes (the response model) are known only then.
 */
export class OutputChunkGaps {
  #last: number | undefined;
  #gaps: HistogramPoint | undefined;
  readonly chunk = (at: number): void => {
    const last = this.#last;
    this.#last = at;
    if (last === undefined) return;
    this.#gaps ??= new HistogramPoint(NO_ATTRIBUTES, DURATION_BUCKETS);
    this.#gaps.record(Math.max(0, at - last) / 1000);
  };
  get gaps(): HistogramPoint | undefined {
    return this.#gaps;
  }
}

/** The points of one base attribute set (operation, provider, server, models), resolved once per interval. */
interface CallSeries {
  readonly base: Attributes;
  readonly baseKey: string;
  /** The values the key is built from, to reuse the series for the next call with the same ones. */
  readonly operation: string;
  readonly provider: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly requestModel: string | undefined;
  readonly responseModel: string | undefined;
  readonly inputTokens: HistogramPoint;
  readonly outputTokens: HistogramPoint;
  readonly duration: HistogramPoint;
  readonly ttfc: HistogramPoint;
  readonly tpoc: HistogramPoint;
  readonly cost: SumPoint;
  readonly overhead: HistogramPoint;
  /** The last unpriced reason's point and the last error type's duration point (same reuse as the series). */
  unpricedReason: string | undefined;
  unpriced: SumPoint | undefined;
  errorType: string | undefined;
  errorDuration: HistogramPoint | undefined;
}

const SEP = '\u0001';

/** The reader reports the MeterProvider's resource; the producer's own is never read. */
const UNUSED_RESOURCE = resourceFromAttributes({});

/** A key naming the base attribute set; built from the values `baseAttributes` reads. */
const seriesKey = (call: LlmCall): string =>
  `${call.request.operation}${SEP}${call.provider}${SEP}${call.serverAddress}${SEP}${call.serverPort}${SEP}${
    call.request.requestModel ?? SEP
  }${SEP}${call.response.responseModel ?? SEP}`;

/** The call has the values `series` was resolved for (so `seriesKey` would give its key). */
const sameSeries = (series: CallSeries, call: LlmCall): boolean =>
  series.operation === call.request.operation &&
  series.provider === call.provider &&
  series.serverAddress === call.serverAddress &&
  series.serverPort === call.serverPort &&
  series.requestModel === call.request.requestModel &&
  series.responseModel === call.response.responseModel;

/**
 * `getTemporality` is the exporter's choice per instrument type (DELTA by default in llmtap).
 * `scope` is the instrumentation scope every llmtap metric is reported under.
 */
export const createInstruments = (
  scope: InstrumentationScope,
  getTemporality: (type: InstrumentType) => AggregationTemporality,
): Instruments => {
  const tokenUsage = new HistogramStream(
    {
      name: METRIC.tokenUsage,
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      valueType: ValueType.INT,
    },
    TOKEN_BUCKETS,
  );
  const duration = new HistogramStream(
    { name: METRIC.operationDuration, unit: 's', description: 'GenAI operation duration.' },
    DURATION_BUCKETS,
  );
  const ttfc = new HistogramStream(
    {
      name: METRIC.timeToFirstChunk,
      unit: 's',
      description: 'Time from the request to the first output chunk of a streaming response.',
    },
    DURATION_BUCKETS,
  );
  const tpoc = new HistogramStream(
    {
      name: METRIC.timePerOutputChunk,
      unit: 's',
      description:
        'Time between consecutive output chunks of a streaming response, one sample per chunk after the first.',
    },
    DURATION_BUCKETS,
  );
  const overhead = new HistogramStream(
    {
      name: METRIC.overhead,
      unit: 's',
      description:
        'Time llmtap adds to a call: request in to upstream request out, plus upstream first byte to client first byte.',
    },
    OVERHEAD_BUCKETS,
  );
  const cost = new SumStream({
    name: METRIC.cost,
    unit: 'USD',
    description: 'Cost of GenAI calls at list price (llmtap price table).',
  });
  const unpriced = new SumStream({
    name: METRIC.unpriced,
    unit: '{call}',
    description: 'Calls whose cost is unknown (model not in the price table, or usage not reported).',
  });
  const errors = new SumStream({
    name: METRIC.telemetryErrors,
    unit: '{error}',
    description: 'Failures inside llmtap telemetry (decode, framing, parse, pricing, export, observer).',
  });
  const dropped = new SumStream({
    name: METRIC.telemetryDropped,
    unit: '{item}',
    description: 'Spans and metric data points llmtap could not export (queue full, export failed).',
  });
  const safety = createSafetyInstruments();
  // Export order, as the SDK reported instruments: in creation order.
  const histograms = [tokenUsage, duration, ttfc, tpoc, overhead, ...safety.histograms];
  const sums = [cost, unpriced, errors, dropped, ...safety.sums];

  /** Cleared at every collection: DELTA collection forgets idle points, so cached references could go stale. */
  let series = new Map<string, CallSeries>();
  /**
   * The last call's series: a pod's calls mostly repeat one attribute set, and comparing six values spares building
   * the key string per call (#15: per-call garbage). Forgotten with the map at every collection.
   */
  let lastSeries: CallSeries | undefined;
  let lastCollectionMs = performance.timeOrigin + performance.now();

  const resolve = (call: LlmCall, key: string): CallSeries => {
    const base = Object.freeze(baseAttributes(call));
    const token = (type: string) =>
      tokenUsage.point(`${key}${SEP}${type}`, () => ({ ...base, [ATTR.tokenType]: type }));
    const operation = call.request.operation;
    const provider = base[ATTR.providerName];
    const created: CallSeries = {
      base,
      baseKey: key,
      operation,
      provider: call.provider,
      serverAddress: call.serverAddress,
      serverPort: call.serverPort,
      requestModel: call.request.requestModel,
      responseModel: call.response.responseModel,
      inputTokens: token('input'),
      outputTokens: token('output'),
      duration: duration.point(key, () => base),
      ttfc: ttfc.point(key, () => base),
      tpoc: tpoc.point(key, () => base),
      cost: cost.point(key, () => base),
      overhead: overhead.point(`${operation}${SEP}${String(provider)}`, () => ({
        [ATTR.operationName]: operation,
        [ATTR.providerName]: provider,
      })),
      unpricedReason: undefined,
      unpriced: undefined,
      errorType: undefined,
      errorDuration: undefined,
    };
    series.set(key, created);
    return created;
  };

  return {
    record(call, errorType, costResult, chunkGaps) {
      let s = lastSeries;
      if (s === undefined || !sameSeries(s, call)) {
        const key = seriesKey(call);
        s = series.get(key) ?? resolve(call, key);
        lastSeries = s;
      }
      const key = s.baseKey;
      const usage = call.response.usage;
      if (usage.inputTokens !== undefined) s.inputTokens.record(usage.inputTokens);
      if (usage.outputTokens !== undefined) s.outputTokens.record(usage.outputTokens);
      const seconds = Math.max(0, call.timing.end - call.timing.start) / 1000;
      if (errorType === undefined) s.duration.record(seconds);
      else {
        if (s.errorType !== errorType || s.errorDuration === undefined) {
          const base = s.base;
          s.errorDuration = duration.point(`${key}${SEP}${errorType}`, () => ({
            ...base,
            [ATTR.errorType]: errorType,
          }));
          s.errorType = errorType;
        }
        s.errorDuration.record(seconds);
      }
      const firstChunk = timeToFirstChunk(call);
      if (firstChunk !== undefined) s.ttfc.record(firstChunk);
      const gaps = chunkGaps?.gaps;
      if (call.request.stream && gaps !== undefined) s.tpoc.absorb(gaps);
      if (costResult !== undefined) {
        if (costResult.priced) s.cost.add(costResult.cost);
        else {
          const reason = costResult.reason;
          if (s.unpricedReason !== reason || s.unpriced === undefined) {
            const base = s.base;
            s.unpriced = unpriced.point(`${key}${SEP}${reason}`, () => ({
              ...base,
              [ATTR.unpricedReason]: reason,
            }));
            s.unpricedReason = reason;
          }
          s.unpriced.add(1);
        }
      }
      const added = proxyOverhead(call);
      if (added !== undefined) s.overhead.record(added);
      if (call.response.safety !== undefined) safety.record(call, s.base, key);
    },
    recordError(stage) {
      errors.point(stage, () => ({ [ATTR.telemetryStage]: stage })).add(1);
    },
    recordDrop(signal, reason, count) {
      if (count <= 0) return;
      dropped
        .point(`${signal}${SEP}${reason}`, () => ({
          [ATTR.telemetrySignal]: signal,
          [ATTR.dropReason]: reason,
        }))
        .add(count);
    },
    collect(): Promise<CollectionResult> {
      const end = performance.timeOrigin + performance.now();
      const histogramTemporality = getTemporality(InstrumentType.HISTOGRAM);
      const sumTemporality = getTemporality(InstrumentType.COUNTER);
      const metrics: MetricData[] = [];
      for (const stream of histograms) {
        const data = stream.collect(histogramTemporality, lastCollectionMs, end);
        if (data !== undefined) metrics.push(data);
      }
      for (const stream of sums) {
        const data = stream.collect(sumTemporality, lastCollectionMs, end);
        if (data !== undefined) metrics.push(data);
      }
      lastCollectionMs = end;
      series = new Map();
      lastSeries = undefined;
      return Promise.resolve({
        resourceMetrics: {
          resource: UNUSED_RESOURCE,
          scopeMetrics: metrics.length === 0 ? [] : [{ scope, metrics }],
        },
        errors: [],
      });
    },
  };
};
