/**
 * What the capture pipeline hands each finished call to: telemetry (spans, metrics, the call's log fields).
 * Kept apart from the tap so that capture and telemetry know each other only through `LlmCall`.
 */
import type { LogFields } from './log.ts';
import type { CallContext } from './proxy/tap.ts';
import type { LlmCall, RequestFacts } from './record.ts';

/** One LLM call being observed: started when the request arrives, finished with the record. */
export interface CallObservation {
  /** W3C trace context (`traceparent`, `tracestate`, `baggage`) to send upstream. */
  readonly upstreamHeaders?: Readonly<Record<string, string>> | undefined;
  /**
   * One output chunk ended at `at` (epoch ms, the clock of `CallTiming`): per-chunk timing for
   * `gen_ai.client.operation.time_per_output_chunk`. Absent when nothing wants it; never throws.
   */
  readonly outputChunk?: ((at: number) => void) | undefined;
  /** Emits the call's telemetry; returns the fields to add to the request's log line. */
  finish(call: LlmCall): LogFields | undefined;
  /** Optional progress for live views: the response head arrived (request facts as read so far). */
  responding?(request: RequestFacts, status: number, at: number): void;
}

/**
 * A span grouping several calls (a realtime WebSocket session): calls observed with its `upstreamHeaders` as their
 * request headers become its children. It records no metrics of its own (its calls do).
 */
export interface SessionObservation {
  readonly upstreamHeaders?: Readonly<Record<string, string>> | undefined;
  end(summary: SessionSummary): void;
}

export interface SessionSummary {
  readonly at: number;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly errorType?: string | undefined;
}

export interface CallObserver {
  start(context: CallContext): CallObservation;
  openSession?(context: CallContext): SessionObservation;
}

/** Telemetry pipeline stages, for `llmtap.telemetry.errors{stage}` (defined with the error catalogue). */
export type { TelemetryStage } from './errors.ts';
