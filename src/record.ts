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
  /** Content filters, guardrails, refusals and safety blocks the provider reported; absent when none. */
  readonly safety?: SafetyFacts;
}

/** Where a safety signal applies: the prompt (`input`) or the generated output (`output`). */
export type SafetyStage = 'input' | 'output';

/**
 * Why the provider did not answer normally: the model declined (`refusal`), a provider content filter or
 * safety classifier blocked (`content_filter`), or a configured guardrail blocked (`guardrail`).
 */
export type SafetyReason = 'refusal' | 'content_filter' | 'guardrail';

/** One category of an Azure OpenAI content filter result, reduced to its verdict (never text, ids or citations). */
export interface FilterVerdict {
  readonly filtered?: boolean;
  readonly severity?: string;
  readonly detected?: boolean;
}

/** Category name (`hate`, `jailbreak`, `protected_material_code`, or any other the provider adds) → verdict. */
export type FilterCategories = Readonly<Record<string, FilterVerdict>>;

export interface PromptFilterResult {
  readonly promptIndex: number | undefined;
  readonly categories: FilterCategories;
}

export type GuardrailPolicy = 'content' | 'sensitive_info' | 'topics' | 'words' | 'contextual_grounding';

/**
 * One Bedrock guardrail assessment entry, folded with its identical siblings (`count`). Names the policy's
 * category only: a content filter type, a PII entity type, a regex or topic name (configuration), a word
 * list (`CUSTOM` or the managed list's type) or a grounding type — never the matched text.
 */
export interface GuardrailFinding {
  readonly policy: GuardrailPolicy;
  readonly stage: SafetyStage;
  readonly category: string;
  /** Sensitive information only: `pii` (entity type) or `regex` (regex name). */
  readonly kind?: 'pii' | 'regex';
  readonly action?: string;
  /** Content filters only. */
  readonly confidence?: string;
  readonly filterStrength?: string;
  /** Contextual grounding only. */
  readonly score?: number;
  readonly threshold?: number;
  readonly count: number;
}

export interface GuardrailFacts {
  /** `stopReason: guardrail_intervened`, a guardrail action other than `NONE`, or a finding acted on. */
  readonly activated: boolean;
  /** Guardrail ids from the request config or the trace's assessment keys. */
  readonly ids: readonly string[];
  readonly version?: string;
  readonly findings: readonly GuardrailFinding[];
  /** Policies the guardrail ran, per stage (from the assessment's `invocationMetrics.usage` units). */
  readonly evaluated: readonly { readonly policy: GuardrailPolicy; readonly stage: SafetyStage }[];
}

/** Safety signals of one call, all bounded (see `providers/safety.ts` for the caps). */
export interface SafetyFacts {
  /** Set when the provider blocked, filtered or refused; an input block wins over an output one. */
  readonly block?: { readonly reason: SafetyReason; readonly stage: SafetyStage };
  /** Categories behind the block, as the provider names them (Azure category, Gemini reason/harm category…). */
  readonly categories?: readonly string[];
  /** Azure OpenAI `prompt_filter_results`, one per prompt index. */
  readonly promptFilterResults?: readonly PromptFilterResult[];
  /** Azure OpenAI `content_filter_results` merged over choices and stream chunks (worst verdict wins). */
  readonly completionFilterResults?: FilterCategories;
  readonly guardrail?: GuardrailFacts;
  /** True when a cap cut the filter or guardrail data. */
  readonly truncated?: boolean;
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
  /** Facts with no semconv name yet (per-modality token counts, the session a realtime response belongs to). */
  readonly extraAttributes?: Readonly<Record<string, string | number>>;
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
