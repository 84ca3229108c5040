/**
 * The pre-bound metric streams against the SDK's own instruments: the same values recorded into both must
 * give the same buckets, sum, count, min and max (differential test, values on and around every boundary),
 * and the DELTA/CUMULATIVE bookkeeping and the cardinality overflow must follow the SDK's rules.
 */
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { CARDINALITY_LIMIT, HistogramStream, SumStream } from '../../src/telemetry/aggregation.ts';
import { DURATION_BUCKETS, TOKEN_BUCKETS } from '../../src/telemetry/semconv.ts';

const sdkHistogram = async (boundaries: readonly number[], values: readonly number[]): Promise<Histogram> => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('t').createHistogram('h', {
    advice: { explicitBucketBoundaries: [...boundaries] },
  });
  for (const value of values) histogram.record(value, { a: 'x' });
  await reader.forceFlush();
  const point = exporter.getMetrics()[0]?.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
  await provider.shutdown();
  if (point === undefined) throw new Error('the SDK exported no point');
  return point.value as Histogram;
};

const oursHistogram = (boundaries: readonly number[], values: readonly number[]): Histogram => {
  const stream = new HistogramStream({ name: 'h', unit: 's', description: '' }, boundaries);
  const point = stream.point('x', () => ({ a: 'x' }));
  for (const value of values) point.record(value);
  const data = stream.collect(AggregationTemporality.DELTA, 0, 1000);
  const value = data?.dataPoints[0]?.value;
  if (value === undefined) throw new Error('no point collected');
  return value as Histogram;
};

/** Every boundary, just below and above it, 0, negatives, huge values and a seeded random spread. */
const valuesAround = (boundaries: readonly number[], seed: number): number[] => {
  const values = [0, -1, -0.5, 1e12];
  for (const b of boundaries) values.push(b, b * (1 - 1e-9), b * (1 + 1e-9), b / 2);
  let state = seed;
  for (let i = 0; i < 500; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    values.push((state / 2_147_483_648) * (boundaries.at(-1) ?? 1) * 1.5);
  }
  return values;
};

describe('pre-bound histogram = the SDK histogram', () => {
  it.each([
    ['tokens', TOKEN_BUCKETS, 1],
    ['seconds', DURATION_BUCKETS, 7],
  ])('%s buckets: same counts, sum, count, min, max', async (_name, boundaries, seed) => {
    const values = valuesAround(boundaries, seed);
    const sdk = await sdkHistogram(boundaries, values);
    const ours = oursHistogram(boundaries, values);
    expect(ours.buckets).toEqual(sdk.buckets);
    expect(ours.count).toBe(sdk.count);
    expect(ours.sum).toBeCloseTo(sdk.sum ?? Number.NaN, 6);
    expect(ours.min).toBe(sdk.min);
    expect(ours.max).toBe(sdk.max);
  });

  it('ignores NaN, infinities and negative values rather than poisoning the sum', () => {
    const ours = oursHistogram(DURATION_BUCKETS, [0.5, Number.NaN, Number.POSITIVE_INFINITY, -2, 1]);
    expect(ours.count).toBe(2);
    expect(ours.sum).toBe(1.5);
  });
});

describe('temporality bookkeeping', () => {
  const collectSum = (stream: SumStream, temporality: AggregationTemporality, last: number, end: number) =>
    stream.collect(temporality, last, end) as (MetricData & { dataPointType: DataPointType.SUM }) | undefined;

  it('DELTA: each interval holds only its own records; a series seen last time starts at the last collection', () => {
    const stream = new SumStream({ name: 'c', unit: '1', description: '' });
    stream.point('a', () => ({ k: 'a' })).add(2);
    const first = collectSum(stream, AggregationTemporality.DELTA, 1000, 2000);
    expect(first?.dataPoints.map((p) => p.value)).toEqual([2]);
    expect(first?.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(first?.isMonotonic).toBe(true);
    // Nothing recorded: nothing exported (the SDK does the same for DELTA).
    expect(collectSum(stream, AggregationTemporality.DELTA, 2000, 3000)).toBeUndefined();
    stream.point('a', () => ({ k: 'a' })).add(3);
    stream.point('a', () => ({ k: 'a' })).add(4);
    const third = collectSum(stream, AggregationTemporality.DELTA, 3000, 4000);
    expect(third?.dataPoints.map((p) => p.value)).toEqual([7]);
  });

  it('DELTA start time: the previous collection for a continuing series, the first record for a new one', () => {
    const stream = new SumStream({ name: 'c', unit: '1', description: '' });
    stream.point('a', () => ({ k: 'a' })).add(1);
    collectSum(stream, AggregationTemporality.DELTA, 0, 5000);
    stream.point('a', () => ({ k: 'a' })).add(1);
    const before = performance.timeOrigin + performance.now();
    stream.point('b', () => ({ k: 'b' })).add(1);
    const second = collectSum(stream, AggregationTemporality.DELTA, 5000, 9_000_000_000_000);
    const [a, b] = second?.dataPoints ?? [];
    expect(a?.startTime).toEqual([5, 0]);
    const bStartMs = (b?.startTime[0] ?? 0) * 1000 + (b?.startTime[1] ?? 0) / 1e6;
    expect(bStartMs).toBeGreaterThanOrEqual(Math.floor(before));
    expect(b?.endTime).toEqual([9_000_000_000, 0]);
  });

  it('CUMULATIVE: totals keep growing and idle series are still reported with their first start time', () => {
    const stream = new HistogramStream({ name: 'h', unit: 's', description: '' }, [1, 2]);
    stream.point('a', () => ({ k: 'a' })).record(0.5);
    const first = stream.collect(AggregationTemporality.CUMULATIVE, 0, 1000);
    stream.point('b', () => ({ k: 'b' })).record(1.5);
    const second = stream.collect(AggregationTemporality.CUMULATIVE, 1000, 2000);
    expect(first?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(second?.dataPoints.map((p) => (p.value as Histogram).count)).toEqual([1, 1]);
    expect(second?.dataPoints[0]?.startTime).toEqual(first?.dataPoints[0]?.startTime);
    stream.point('a', () => ({ k: 'a' })).record(3);
    const third = stream.collect(AggregationTemporality.CUMULATIVE, 2000, 3000);
    const a = third?.dataPoints[0]?.value as Histogram | undefined;
    expect(a?.buckets.counts).toEqual([1, 0, 1]);
    expect(a?.sum).toBe(3.5);
  });

  it('INT value type is kept on the descriptor (token usage is an integer histogram)', () => {
    const stream = new HistogramStream(
      { name: 't', unit: '{token}', description: '', valueType: ValueType.INT },
      TOKEN_BUCKETS,
    );
    expect(stream.descriptor.valueType).toBe(ValueType.INT);
    expect(new SumStream({ name: 'c', unit: '1', description: '' }).descriptor.valueType).toBe(
      ValueType.DOUBLE,
    );
  });
});

describe('cardinality limit', () => {
  it(`keeps ${CARDINALITY_LIMIT} points: later attribute sets land on the otel.metric.overflow point`, () => {
    const stream = new SumStream({ name: 'c', unit: '1', description: '' });
    const extra = 25;
    for (let i = 0; i < CARDINALITY_LIMIT + extra; i++) stream.point(`k${i}`, () => ({ i })).add(1);
    const data = stream.collect(AggregationTemporality.DELTA, 0, 1000);
    expect(data?.dataPoints).toHaveLength(CARDINALITY_LIMIT);
    const overflow = data?.dataPoints.find((p) => p.attributes['otel.metric.overflow'] === true);
    expect(overflow?.value).toBe(extra + 1);
    const total = data?.dataPoints.reduce((sum, p) => sum + (p.value as number), 0);
    expect(total).toBe(CARDINALITY_LIMIT + extra);
  });
});
