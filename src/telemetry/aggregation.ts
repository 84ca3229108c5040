/**
 * Pre-bound metric streams: explicit-bucket histograms and monotonic sums that llmtap aggregates itself and
 * hands to the SDK's metric reader as a `MetricProducer`, as the same `MetricData` the SDK's synchronous
 * instruments produce (bucket rule, min/max, start times, cardinality overflow, DELTA or CUMULATIVE).
 *
 * Why not `meter.createHistogram().record(value, attributes)`: the SDK hashes the attribute object on every
 * record (sorting its keys and JSON-stringifying them), and a call records 5–7 points with the same base
 * attributes — most of the metric path's CPU. Here the caller resolves a point once per attribute set and
 * interval (by a string key it builds cheaply), and recording is a few additions.
 */
import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type MetricDescriptor,
} from '@opentelemetry/sdk-metrics';

/** Points per stream, the overflow point included (the SDK's default cardinality limit). */
export const CARDINALITY_LIMIT = 2000;
/** Cannot collide with a caller's key: those never start with a NUL. */
const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** Epoch milliseconds, the clock of the call records. */
const nowMs = (): number => performance.timeOrigin + performance.now();

abstract class Point {
  readonly attributes: Attributes;
  /** When the current accumulation started (its first record), epoch ms; 0 before that. */
  startMs = 0;
  /** Reported by the previous collection: a DELTA point then starts where that collection ended. */
  reported = false;
  /** Records in the current accumulation (since the last DELTA collection, or ever for CUMULATIVE). */
  count = 0;
  constructor(attributes: Attributes) {
    this.attributes = attributes;
  }
  protected touch(): void {
    if (this.count === 0) this.startMs = nowMs();
    this.count += 1;
  }
  reset(): void {
    this.count = 0;
  }
}

export class HistogramPoint extends Point {
  readonly #boundaries: readonly number[];
  readonly counts: number[];
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  constructor(attributes: Attributes, boundaries: readonly number[]) {
    super(attributes);
    this.#boundaries = boundaries;
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }
  /**
   * Finite, non-negative values only (the SDK drops negative values and NaN; llmtap never records
   * infinities either). Bucket i holds (boundaries[i-1], boundaries[i]].
   */
  record(value: number): void {
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY) return;
    this.touch();
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const bounds = this.#boundaries;
    let index = 0;
    while (index < bounds.length && value > (bounds[index] as number)) index++;
    this.counts[index] = (this.counts[index] as number) + 1;
  }
  /** Adds every record of `other` (same boundaries) as if each had been recorded here. */
  absorb(other: HistogramPoint): void {
    if (other.count === 0) return;
    if (this.count === 0) this.startMs = nowMs();
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) + (other.counts[i] as number);
  }
  override reset(): void {
    super.reset();
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.counts.fill(0);
  }
}

export class SumPoint extends Point {
  value = 0;
  /** Monotonic: negative and non-finite increments are dropped, as the SDK's counter does. */
  add(value: number): void {
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY) return;
    this.touch();
    this.value += value;
  }
  override reset(): void {
    super.reset();
    this.value = 0;
  }
}

export interface StreamDescriptor {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly valueType?: ValueType;
}

interface DataPointOf<V> {
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly value: V;
}

/** One instrument's points by attribute-set key, bounded by `CARDINALITY_LIMIT`. */
abstract class Stream<P extends Point, V> {
  readonly descriptor: MetricDescriptor;
  readonly #points = new Map<string, P>();
  constructor(descriptor: StreamDescriptor) {
    this.descriptor = { valueType: ValueType.DOUBLE, ...descriptor };
  }
  protected abstract create(attributes: Attributes): P;
  protected abstract valueOf(point: P): V;
  protected abstract metricData(temporality: AggregationTemporality, points: DataPointOf<V>[]): MetricData;

  /** The point for `key`; `attributes` is called only when the point does not exist yet. */
  point(key: string, attributes: () => Attributes): P {
    let point = this.#points.get(key);
    if (point !== undefined) return point;
    if (this.#points.size >= CARDINALITY_LIMIT - 1) {
      point = this.#points.get(OVERFLOW_KEY);
      if (point === undefined) {
        point = this.create(OVERFLOW_ATTRIBUTES);
        this.#points.set(OVERFLOW_KEY, point);
      }
      return point;
    }
    point = this.create(Object.freeze(attributes()));
    this.#points.set(key, point);
    return point;
  }

  /**
   * The points with data, as MetricData (undefined when none). DELTA resets them and forgets the ones that
   * saw no record this interval, so a series that stops costs nothing; CUMULATIVE keeps everything.
   */
  collect(
    temporality: AggregationTemporality,
    lastCollectionMs: number,
    endMs: number,
  ): MetricData | undefined {
    const delta = temporality === AggregationTemporality.DELTA;
    const endTime = millisToHrTime(endMs);
    const points: DataPointOf<V>[] = [];
    for (const [key, point] of this.#points) {
      if (point.count === 0) {
        if (delta) this.#points.delete(key);
        continue;
      }
      const startMs = delta && point.reported ? lastCollectionMs : point.startMs;
      points.push({
        attributes: point.attributes,
        startTime: millisToHrTime(startMs),
        endTime,
        value: this.valueOf(point),
      });
      point.reported = true;
      if (delta) point.reset();
    }
    return points.length === 0 ? undefined : this.metricData(temporality, points);
  }
}

export interface Histogram {
  readonly buckets: { readonly boundaries: number[]; readonly counts: number[] };
  readonly sum: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

export class HistogramStream extends Stream<HistogramPoint, Histogram> {
  readonly #boundaries: readonly number[];
  constructor(descriptor: StreamDescriptor, boundaries: readonly number[]) {
    super(descriptor);
    this.#boundaries = Object.freeze([...boundaries]);
  }
  protected create(attributes: Attributes): HistogramPoint {
    return new HistogramPoint(attributes, this.#boundaries);
  }
  protected valueOf(point: HistogramPoint): Histogram {
    return {
      buckets: { boundaries: [...this.#boundaries], counts: [...point.counts] },
      sum: point.sum,
      count: point.count,
      min: point.min,
      max: point.max,
    };
  }
  protected metricData(temporality: AggregationTemporality, points: DataPointOf<Histogram>[]): MetricData {
    return {
      descriptor: this.descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: points,
    };
  }
}

export class SumStream extends Stream<SumPoint, number> {
  protected create(attributes: Attributes): SumPoint {
    return new SumPoint(attributes);
  }
  protected valueOf(point: SumPoint): number {
    return point.value;
  }
  protected metricData(temporality: AggregationTemporality, points: DataPointOf<number>[]): MetricData {
    return {
      descriptor: this.descriptor,
      aggregationTemporality: temporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points,
    };
  }
}
