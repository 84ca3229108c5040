/**
 * OpenTelemetry names llmtap emits, copied from the GenAI semantic conventions v1.41.1 (the last released
 * GenAI text, core repo) rather than imported from `@opentelemetry/semantic-conventions/incubating`, which
 * the OTel JS project advises against at runtime. Kept in one module so the renames announced in
 * `semantic-conventions-genai` (e.g. `cache_creation` → `cache_write`) are a one-file change.
 * https://github.com/open-telemetry/semantic-conventions/blob/v1.41.1/docs/gen-ai/
 */

export const SEMCONV_VERSION = '1.41.1';
export const SEMCONV_SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

/** Instrumentation scope: llmtap names itself here, never in `service.name`. */
export const SCOPE_NAME = 'llmtap';

export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestTopK: 'gen_ai.request.top_k',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestSeed: 'gen_ai.request.seed',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestFrequencyPenalty: 'gen_ai.request.frequency_penalty',
  requestPresencePenalty: 'gen_ai.request.presence_penalty',
  requestChoiceCount: 'gen_ai.request.choice.count',
  requestEncodingFormats: 'gen_ai.request.encoding_formats',
  outputType: 'gen_ai.output.type',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  httpResponseStatusCode: 'http.response.status_code',
  errorType: 'error.type',
  /** De-facto name (Langfuse/OpenObserve integrations); the released semconv has no cost attribute. */
  usageCost: 'gen_ai.usage.cost',
  // llmtap's own namespace.
  priceTableVersion: 'llmtap.price_table.version',
  captureTruncated: 'llmtap.capture.truncated',
  contentTruncated: 'llmtap.content.truncated',
  telemetryStage: 'llmtap.telemetry.stage',
  telemetrySignal: 'llmtap.telemetry.signal',
  dropReason: 'llmtap.telemetry.drop_reason',
  unpricedReason: 'llmtap.unpriced.reason',
} as const;

export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  cost: 'gen_ai.usage.cost',
  unpriced: 'llmtap.usage.unpriced_calls',
  overhead: 'llmtap.proxy.overhead',
  telemetryErrors: 'llmtap.telemetry.errors',
  telemetryDropped: 'llmtap.telemetry.dropped',
} as const;

/** `gen_ai.client.token.usage` explicit bucket boundaries (semconv v1.41.1). */
export const TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** Duration, TTFC and TPOC bucket boundaries in seconds (semconv v1.41.1). */
export const DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/**
 * `llmtap.proxy.overhead` boundaries in seconds: the sidecar's own cost is sub-millisecond, so the
 * semconv duration buckets (starting at 10 ms) would put every sample in the first bucket.
 */
export const OVERHEAD_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/**
 * `error.type` values llmtap itself assigns (provider errors carry the provider's own code, transport
 * failures the stable transport code such as `ECONNREFUSED` or `CLIENT_ABORTED`).
 */
export const ERROR_TYPE = {
  /** The response ended before the provider's terminal signal (stream cut, body truncated). */
  incomplete: 'incomplete_response',
  /** The semconv fallback for an error with no usable identifier. */
  other: '_OTHER',
} as const;

/**
 * Safety signals (content filters, guardrails, refusals). `gen_ai.prompt.prompt_filter_results`,
 * `gen_ai.completion.content_filter_results`, `gen_ai.bedrock.guardrail.*` and `gen_ai.guardrail.*` are the
 * names OpenLLMetry emits and the Dynatrace AI Observability app reads (contract rules AR-015..AR-021, AR-040,
 * AR-050/051); `aws.bedrock.guardrail.id` is semconv v1.41.1; the rest is llmtap's namespace.
 */
export const SAFETY_ATTR = {
  blocked: 'llmtap.safety.blocked',
  reason: 'llmtap.safety.reason',
  stage: 'llmtap.safety.stage',
  categories: 'llmtap.safety.categories',
  truncated: 'llmtap.safety.truncated',
  promptFilterResults: 'gen_ai.prompt.prompt_filter_results',
  completionFilterResults: 'gen_ai.completion.content_filter_results',
  filterCategory: 'llmtap.content_filter.category',
  filterStage: 'llmtap.content_filter.stage',
  filterAction: 'llmtap.content_filter.action',
  filterSeverity: 'llmtap.content_filter.severity',
  guardrailActivation: 'gen_ai.bedrock.guardrail.activation',
  guardrailContent: 'gen_ai.bedrock.guardrail.content',
  guardrailSensitiveInfo: 'gen_ai.bedrock.guardrail.sensitive_info',
  guardrailTopics: 'gen_ai.bedrock.guardrail.topics',
  guardrailWords: 'gen_ai.bedrock.guardrail.words',
  guardrailContextual: 'gen_ai.bedrock.guardrail.contextual',
  guardrailId: 'gen_ai.guardrail.id',
  guardrailVersion: 'gen_ai.guardrail.version',
  awsGuardrailId: 'aws.bedrock.guardrail.id',
  /** Metric attributes of the guardrail counters (OpenLLMetry's names). */
  guardrailStage: 'gen_ai.guardrail.type',
  guardrailAction: 'gen_ai.guardrail.action',
  guardrailContentType: 'gen_ai.guardrail.content',
  guardrailConfidence: 'gen_ai.guardrail.confidence',
  guardrailPii: 'gen_ai.guardrail.pii',
  guardrailPattern: 'gen_ai.guardrail.pattern',
  guardrailTopic: 'gen_ai.guardrail.topic',
  guardrailWordList: 'gen_ai.guardrail.word_list',
  guardrailGroundingType: 'gen_ai.guardrail.grounding_type',
  overflowAttribute: 'llmtap.metric.attribute',
} as const;

export const SAFETY_METRIC = {
  blocks: 'llmtap.safety.blocks',
  filterActions: 'llmtap.content_filter.actions',
  guardrailActivation: 'gen_ai.bedrock.guardrail.activation',
  guardrailContent: 'gen_ai.bedrock.guardrail.content',
  guardrailSensitiveInfo: 'gen_ai.bedrock.guardrail.sensitive_info',
  guardrailTopics: 'gen_ai.bedrock.guardrail.topics',
  guardrailWords: 'gen_ai.bedrock.guardrail.words',
  guardrailContextual: 'gen_ai.bedrock.guardrail.contextual',
  attributeOverflow: 'llmtap.metric.attribute_overflow',
} as const;

/** `gen_ai.bedrock.guardrail.contextual` (grounding/relevance score, 0–1) bucket boundaries. */
export const SCORE_BUCKETS: readonly number[] = [
  0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1,
];
