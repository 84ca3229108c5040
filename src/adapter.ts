/**
 * The only contract between the provider-independent core (`src/`) and the provider adapters (`providers/`).
 *
 * Adapters are pure: frames in, facts out. No I/O, no clock, no OpenTelemetry, no `node:*` imports.
 * The core owns content decoding, framing (SSE, NDJSON, JSON array, AWS eventstream), size caps and timing;
 * an adapter only declares which framing its response uses and reads the decoded frames.
 */
import type { CapturedContent, Operation, RequestFacts, ResponseFacts } from './record.ts';

/** Body framings the core can decode. `json` = one whole (size-capped) body. */
export type Framing = 'json' | 'sse' | 'ndjson' | 'json-array' | 'aws-eventstream';

/**
 * One decoded frame. `text` is the frame's payload as UTF-8 text: an SSE event's `data`, one NDJSON line,
 * one element of a JSON-array stream, an eventstream message payload, or the whole body for `json`.
 * Adapters decide whether the frame is worth a `JSON.parse` (see `parseJsonObject`).
 */
export interface Frame {
  /** SSE `event:` field, or eventstream `:event-type` / `:exception-type` header. */
  readonly event: string | undefined;
  readonly text: string;
  /** Eventstream `:message-type` (`event`, `exception`, `error`); undefined for other framings. */
  readonly messageType?: string | undefined;
}

/** The request as the adapter sees it; `path` is the upstream path (base path + the client's rest). */
export interface RequestTarget {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface ResponseHead {
  readonly status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
}

export interface ParseOptions {
  /** Collect message content (opt-in); when false adapters must not copy any prompt or output text. */
  readonly captureContent: boolean;
  /** Cap on captured content characters per call. */
  readonly maxCapturedChars: number;
}

/** Request facts plus, when opted in, the captured input content. */
export interface ParsedRequest extends RequestFacts {
  readonly content?: CapturedContent;
}

/** Signals the core times: the adapter says which frame is model output; the core reads the clock. */
export interface OutputSignal {
  output(): void;
}

/** Stateful, one per call, O(1) memory: counters, ids and finish reasons — never the frames. */
export interface ResponseParser {
  push(frame: Frame, signal: OutputSignal): void;
  /**
   * Called once after the body ended. `complete` is false when the body was cut (reset, abort, capture limit).
   * Returns the facts and whether the provider's terminal signal was seen.
   */
  finish(complete: boolean): ParsedResponse;
}

export interface ParsedResponse extends ResponseFacts {
  /** True when the terminal signal of the stream (or a complete JSON body) was seen. */
  readonly terminal: boolean;
  readonly content?: CapturedContent;
}

/** A byte filter applied to what the client receives. Pure: bytes in, bytes out. */
export interface ResponseFilter {
  push(chunk: Uint8Array): Uint8Array;
  flush(): Uint8Array;
}

/**
 * Optional: ask the upstream for streaming usage the client did not request, and remove from the client's
 * copy exactly what that request added (OpenAI-dialect `stream_options.include_usage`).
 */
export interface StreamUsageInjection {
  /**
   * Given the parsed request body, the text to insert right after the body's opening `{`
   * (e.g. `"stream_options":{"include_usage":true},`), or undefined to leave the request alone.
   * In a body above 64 KB, members above 64 KB arrive as empty values of their kind (`[]`, `{}`, `''`):
   * the body is skimmed, not parsed whole, because this runs before the request is forwarded.
   * `target` is the upstream request (path and query tell the API and, for Azure, the api-version).
   */
  patchRequest(body: unknown, target?: RequestTarget): string | undefined;
  /** A filter for the client-facing bytes of a response whose request was patched. */
  createResponseFilter(): ResponseFilter;
}

export interface ProviderAdapter {
  /** Short id used in route config (`openai`, `azure-openai`, …). */
  readonly id: string;
  /** Default `gen_ai.provider.name` value (`openai`, `gcp.gemini`, …). */
  readonly providerName: string;
  /** The operation this request performs, or undefined when it is not an LLM call (e.g. `GET /v1/models`). */
  operationFor(target: RequestTarget): Operation | undefined;
  /**
   * Request facts from the target and the parsed JSON body (undefined when absent or not JSON).
   * Without content capture, a body over 64 KiB is skimmed: top-level members over 64 KiB (the conversation)
   * are left out, so facts must come from the small members (`model`, `stream`, parameters).
   */
  parseRequest(
    operation: Operation,
    target: RequestTarget,
    body: unknown,
    options: ParseOptions,
  ): ParsedRequest;
  /** The framing of this response body. */
  framing(request: RequestFacts, head: ResponseHead): Framing;
  createParser(request: ParsedRequest, head: ResponseHead, options: ParseOptions): ResponseParser;
  readonly streamUsage?: StreamUsageInjection;
  /** The realtime WebSocket protocol of this provider (OpenAI Realtime, Gemini Live), if it has one. */
  readonly realtime?: RealtimeSupport;
}

/** One finished model response of a realtime (WebSocket) session. */
export interface RealtimeResponse {
  readonly responseId: string | undefined;
  readonly usage: ResponseFacts['usage'];
  /** Per-modality token counts under llmtap's own attribute names (semconv has none yet). */
  readonly details: Readonly<Record<string, number>>;
  readonly finishReasons: readonly string[];
  readonly error: ResponseFacts['error'];
  readonly outcome: 'completed' | 'incomplete' | 'errored';
  /** When the response was asked for (client event), else when the server started it. */
  readonly start: number;
  readonly serverStart: number | undefined;
  readonly firstOutput: number | undefined;
  readonly end: number;
  readonly outputChunks: number;
}

export interface RealtimeSessionFacts {
  readonly sessionId: string | undefined;
  readonly requestModel: string | undefined;
  readonly responseModel: string | undefined;
}

/** One socket's messages in (decoded WebSocket message payloads, timestamps from the caller), responses out. */
export interface RealtimeParser {
  readonly session: RealtimeSessionFacts;
  clientMessage(data: Uint8Array, at: number): void;
  /** Returns the responses this server message finished. */
  serverMessage(data: Uint8Array, at: number): readonly RealtimeResponse[];
  /** The socket closed: responses still open end as incomplete. */
  end(at: number): readonly RealtimeResponse[];
}

export interface RealtimeSupport {
  /** Whether an upgrade to this target speaks the protocol. */
  matches(target: RequestTarget): boolean;
  createParser(target: RequestTarget): RealtimeParser;
}

/** Identity helper that keeps the literal type of an adapter while checking it against the contract. */
export const defineAdapter = <A extends ProviderAdapter>(adapter: A): A => adapter;

/** `JSON.parse` that never throws and only returns plain objects. */
export const parseJsonObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};
