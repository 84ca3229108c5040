/**
 * The normalized record of one LLM call: plain data, no OpenTelemetry types.
 * Adapters produce the provider facts; the capture pipeline adds timing and transport facts;
 * telemetry turns the whole record into spans, metrics and a log line.
 *
 * Rule everywhere: a value the provider did not report is `undefined`, never 0.
 */

/** `gen_ai.operation.name` values (semconv v1.41.1 well-known values plus llmtap's own non-generation kinds). */
export type Operation =
  | 'chat'
  | 'text_completion'
  | 'embeddings'
  | 'generate_content'
  | 'image_generation'
  | 'rerank'
  | 'count_tokens';

/** Token counts normalized to semconv: input includes cached tokens, output includes reasoning tokens. */
export interface Usage {
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  readonly cacheReadInputTokens: number | undefined;
  readonly cacheCreationInputTokens: number | undefined;
  readonly reasoningOutputTokens: number | undefined;
}

export const emptyUsage: Usage = Object.freeze({
  inputTokens: undefined,
  outputTokens: undefined,
  cacheReadInputTokens: undefined,
  cacheCreationInputTokens: undefined,
  reasoningOutputTokens: undefined,
});

/** `gen_ai.request.*` parameters as the client sent them. */
export interface RequestParams {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly maxTokens?: number;
  readonly seed?: number;
  readonly stopSequences?: readonly string[];
  readonly frequencyPenalty?: number;
  readonly presencePenalty?: number;
  readonly choiceCount?: number;
  readonly outputType?: string;
  readonly encodingFormats?: readonly string[];
}

/** What the request said, read before or while it was forwarded. */
export interface RequestFacts {
  readonly operation: Operation;
  readonly requestModel: string | undefined;
  readonly stream: boolean;
  readonly params: RequestParams;
}

/** A provider-reported error: HTTP status ≥ 400, or an error event inside a 200 stream. */
export interface ProviderError {
  /** Low-cardinality `error.type`: the provider's error code/type, else the HTTP status as a string. */
  readonly type: string;
  readonly midStream: boolean;
}

/** What the response said. */
export interface ResponseFacts {
  readonly responseId: string | undefined;
  readonly responseModel: string | undefined;
  readonly usage: Usage;
  /** Raw provider values, one per choice/candidate, in choice order. */
  readonly finishReasons: readonly string[];
  readonly error: ProviderError | undefined;
}

/**
 * How the response body ended: `completed` when the provider's terminal signal (or a complete
 * non-streaming body) arrived; `incomplete` when the stream was cut (reset, client abort, truncated body);
 * `errored` when the provider reported an error.
 */
export type CallOutcome = 'completed' | 'incomplete' | 'errored';

/** Monotonic timestamps in milliseconds since the Unix epoch (performance.timeOrigin + performance.now()). */
export interface CallTiming {
  readonly start: number;
  /** When the upstream request headers were handed to the connection. */
  readonly upstreamRequestSent: number | undefined;
  readonly upstreamFirstByte: number | undefined;
  /** First response byte written to the client. */
  readonly clientFirstByte: number | undefined;
  /** First chunk of model output (the adapter decides which frame counts as output). */
  readonly firstOutput: number | undefined;
  readonly end: number;
}

/** The full record of one call, handed to telemetry once the response ended. */
export interface LlmCall {
  /** Adapter id used by the route (`openai`, `gemini`, …). */
  readonly adapterId: string;
  /** `gen_ai.provider.name` value. */
  readonly provider: string;
  readonly routePrefix: string;
  readonly request: RequestFacts;
  readonly response: ResponseFacts;
  readonly outcome: CallOutcome;
  /** HTTP status the upstream answered, undefined when no response arrived. */
  readonly httpStatus: number | undefined;
  /** Transport failure code when no (complete) response arrived (`UND_ERR_SOCKET`, `ECONNREFUSED`…). */
  readonly transportError: string | undefined;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly timing: CallTiming;
  /** Output chunks seen (streaming), for time-per-output-chunk. */
  readonly outputChunks: number;
  /** True when a capture limit cut the copy, so usage may be missing. */
  readonly truncated: boolean;
  /**
   * Captured message content (request input + system instructions, response output), present only when
   * content capture is opted in and the adapter collected some.
   */
  readonly content?: CapturedContent;
}

/**
 * Message content in the semconv v1.41.1 JSON structure (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.system_instructions`). Collected only when content capture is opted in, and bounded by
 * `maxCapturedChars` inside the adapter.
 */
export interface CapturedContent {
  readonly inputMessages?: readonly unknown[];
  readonly systemInstructions?: readonly unknown[];
  readonly outputMessages?: readonly unknown[];
  /** True when a cap cut the captured content. */
  readonly truncated?: boolean;
}
