/**
 * The GenAI metrics as Prometheus text for `GET /metrics` on the admin listener, beside OTLP.
 *
 * Prometheus wants CUMULATIVE counters and histograms; the OTLP pipeline aggregates DELTA (its streams reset at
 * every export). So Prometheus gets its own pre-bound streams — the same instruments, names, attributes and
 * buckets, hence no cardinality OTLP does not have — created with CUMULATIVE temporality and recorded alongside
 * the OTLP ones. A scrape collects them (collection never resets a cumulative stream) and hands the result to
 * `@opentelemetry/exporter-prometheus`'s serializer, loaded at the first scrape. Nothing is allocated until the
 * first call is recorded; series then live for the process, bounded by the cardinality limit per metric.
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { createInstruments, type Instruments } from './metrics.ts';

export interface PrometheusView {
  /** Record into these as into the OTLP instruments. */
  readonly instruments: Instruments;
  /** The Prometheus text exposition (format 0.0.4) of everything recorded since start. */
  text(): Promise<string>;
}

/** The content type of `text()`. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Serializer = { serialize(metrics: unknown): string };

export const createPrometheusView = (
  scope: InstrumentationScope,
  resource: () => Promise<Resource>,
): PrometheusView => {
  const instruments = createInstruments(scope, () => AggregationTemporality.CUMULATIVE);
  let serializer: Promise<Serializer> | undefined;
  return {
    instruments,
    async text() {
      serializer ??= import('@opentelemetry/exporter-prometheus').then(
        ({ PrometheusSerializer }) => new PrometheusSerializer() as Serializer,
      );
      const [{ resourceMetrics }, target, prometheus] = await Promise.all([
        instruments.collect(),
        resource(),
        serializer,
      ]);
      const text = prometheus.serialize({ ...resourceMetrics, resource: target });
      // The format's last line must end with a line feed; the serializer's "no metrics" comment does not.
      return text.endsWith('\n') ? text : `${text}\n`;
    },
  };
};
