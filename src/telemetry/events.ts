/**
 * The GenAI events of the semantic conventions (v1.41.1) as OTLP log records: one
 * `gen_ai.client.inference.operation.details` per call (the span's attributes plus the message content, as
 * structured values), and a `gen_ai.client.operation.exception` when the call failed. Each record carries the
 * call span's trace and span ids. Opt-in only (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=EVENT_ONLY`
 * or `SPAN_AND_EVENT`): the logs SDK and its exporter are imported here, on first use, so an llmtap without
 * events never loads them (idle memory). Like spans, export goes through a bounded queue whose drops are
 * counted, and a failure never reaches the app's traffic.
 */
import { type AnyValue, type Attributes, type Context, SeverityNumber } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type {
  LoggerProvider,
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import type { LlmCall } from '../record.ts';
import { contentAttributes } from './attributes.ts';
import type { TelemetrySettings } from './env.ts';
import type { DropListener } from './export.ts';
import { ATTR, SCOPE_NAME, SEMCONV_SCHEMA_URL } from './semconv.ts';

export const EVENT = {
  inferenceDetails: 'gen_ai.client.inference.operation.details',
  operationException: 'gen_ai.client.operation.exception',
} as const;

export interface EventPipeline {
  /**
   * Queues the call's events. `attributes` are the span's (computed once by the caller); `context` holds the
   * call's span, whose trace and span ids the records carry.
   */
  emit(
    call: LlmCall,
    context: Context | undefined,
    errorType: string | undefined,
    attributes: Attributes,
  ): void;
  shutdown(timeoutMs: number): Promise<void>;
}

/**
 * The content attributes as structured values (the semconv form on events). A value llmtap had to cut is no
 * longer valid JSON, so it stays the truncated string, flagged as on spans.
 */
const structuredContent = (call: LlmCall, maxChars: number): Attributes => {
  const attrs: Attributes = contentAttributes(call.content, maxChars);
  if (attrs[ATTR.contentTruncated] === true) return attrs;
  for (const key of [ATTR.inputMessages, ATTR.systemInstructions, ATTR.outputMessages]) {
    const text = attrs[key];
    if (typeof text !== 'string') continue;
    try {
      attrs[key] = JSON.parse(text) as AnyValue;
    } catch {
      // Redaction can in principle leave text that is not JSON: keep the string.
    }
  }
  return attrs;
};

/** Counts records the exporter failed to deliver, and tells the bounded processor they left the queue. */
class CountingLogExporter implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  readonly #onSettled: (count: number, ok: boolean) => void;
  constructor(inner: LogRecordExporter, onSettled: (count: number, ok: boolean) => void) {
    this.#inner = inner;
    this.#onSettled = onSettled;
  }
  export(records: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(records, (result) => {
      this.#onSettled(records.length, result.code === ExportResultCode.SUCCESS);
      resultCallback(result);
    });
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Caps records waiting or in flight at `max` and counts what it turns away (the SDK drops silently). */
class BoundedLogProcessor implements LogRecordProcessor {
  readonly #inner: LogRecordProcessor;
  readonly #max: number;
  readonly #onDrop: DropListener;
  #pending = 0;
  constructor(inner: LogRecordProcessor, max: number, onDrop: DropListener) {
    this.#inner = inner;
    this.#max = max;
    this.#onDrop = onDrop;
  }
  settled(count: number): void {
    this.#pending = Math.max(0, this.#pending - count);
  }
  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    if (this.#pending >= this.#max) {
      this.#onDrop('logs', 'queue_full', 1);
      return;
    }
    this.#pending += 1;
    this.#inner.onEmit(record, context);
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** Builds the log pipeline; loads `@opentelemetry/sdk-logs` and the OTLP log exporter only now. */
export const createEventPipeline = async (
  settings: TelemetrySettings,
  resource: Resource,
  version: string,
  onDrop: DropListener,
): Promise<EventPipeline | undefined> => {
  const target = settings.logs;
  if (target === undefined) return undefined;
  const [{ LoggerProvider: Provider, BatchLogRecordProcessor }, { OTLPLogExporter }] = await Promise.all([
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/exporter-logs-otlp-proto'),
  ]);
  let bounded: BoundedLogProcessor | undefined;
  const exporter = new CountingLogExporter(
    new OTLPLogExporter({
      url: target.url,
      headers: { ...target.headers },
      compression: target.compression as never,
      timeoutMillis: target.timeoutMs,
    }),
    (n, ok) => {
      bounded?.settled(n);
      if (!ok) onDrop('logs', 'export_failed', n);
    },
  );
  const batch = new BatchLogRecordProcessor({
    exporter,
    maxQueueSize: settings.blrp.maxQueueSize,
    maxExportBatchSize: settings.blrp.maxExportBatchSize,
    scheduledDelayMillis: settings.blrp.scheduleDelayMs,
    exportTimeoutMillis: settings.blrp.exportTimeoutMs,
  });
  bounded = new BoundedLogProcessor(batch, settings.blrp.maxQueueSize, onDrop);
  const provider: LoggerProvider = new Provider({
    resource,
    processors: [bounded],
    // Content is cut by llmtap itself; this caps anything else.
    logRecordLimits: { attributeValueLengthLimit: Math.max(settings.maxContentChars + 64, 4096) },
  });
  const logger = provider.getLogger(SCOPE_NAME, version, { schemaUrl: SEMCONV_SCHEMA_URL });

  return {
    emit(call, context, errorType, attributes) {
      const at = call.timing.end;
      logger.emit({
        eventName: EVENT.inferenceDetails,
        timestamp: at,
        severityNumber: SeverityNumber.INFO,
        ...(context === undefined ? {} : { context }),
        attributes: {
          ...attributes,
          ...structuredContent(call, settings.maxContentChars),
        },
      });
      if (errorType !== undefined) {
        logger.emit({
          eventName: EVENT.operationException,
          timestamp: at,
          severityNumber: SeverityNumber.WARN,
          ...(context === undefined ? {} : { context }),
          attributes: {
            'exception.type': errorType,
            [ATTR.errorType]: errorType,
            [ATTR.operationName]: call.request.operation,
            [ATTR.providerName]: call.provider,
            ...(call.request.requestModel === undefined
              ? {}
              : { [ATTR.requestModel]: call.request.requestModel }),
          },
        });
      }
    },
    shutdown: () => provider.shutdown(),
  };
};
