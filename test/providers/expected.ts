/**
 * Maps a recorded fixture's `expected` block (README of test/fixtures/recorded) to the record llmtap must
 * produce. Every difference between the fixture's raw-provider view and llmtap's semconv view is listed
 * here explicitly, with its reason, so the conformance suite compares like with like.
 */
import type { Operation, ProviderError, Usage } from '../../src/record.ts';
import type { RecordedFixture } from '../helpers/recorded.ts';

/** Which adapter a fixture's route would use. */
export const adapterIdFor = (fixture: RecordedFixture): string => {
  if (fixture.provider === 'gemini' && fixture.request.host.includes('aiplatform')) return 'vertex-ai';
  if (fixture.provider === 'openai-compatible') {
    if (fixture.name.startsWith('deepseek')) return 'deepseek';
    if (fixture.name.startsWith('openrouter')) return 'openrouter';
    return 'openai-compatible';
  }
  return fixture.provider;
};

export interface ExpectedRecord {
  readonly operation: Operation;
  readonly stream: boolean;
  readonly requestModel: string | undefined;
  readonly responseModel: string | undefined;
  readonly responseId: string | undefined;
  readonly usage: Usage;
  readonly finishReasons: readonly string[];
  readonly error: ProviderError | undefined;
  readonly outcome: 'completed' | 'errored';
}

const opt = <T>(value: unknown): T | undefined =>
  value === null || value === undefined ? undefined : (value as T);

/**
 * The fixtures say `request_model: null` for errors recorded by pydantic-ai whose request body has no model;
 * the URL names it (Bedrock and Gemini put the model in the path), and llmtap reads it from there.
 */
const REQUEST_MODEL_FROM_URL: Readonly<Record<string, string>> = {
  'bedrock/error_400_converse_invalid_model.json': 'us.does-not-exist-model-v1:0',
  'bedrock/error_400_converse_stream_invalid_model.json': 'us.does-not-exist-model-v1:0',
  'gemini/error_404_embed_model_not_found.json': 'nonexistent-model',
};

/** llmtap's `error.type` rule: a string code, else the type, else a numeric code, else the HTTP status. */
const CODE_LIKE = /^[A-Za-z0-9_.:-]{1,64}$/;
const errorTypeOf = (error: Record<string, unknown>): string => {
  const { code, type, status } = error;
  if (typeof code === 'string' && CODE_LIKE.test(code)) return code;
  if (typeof type === 'string') return type;
  if (typeof code === 'number') return String(code);
  return String(status);
};

export const expectedRecord = (fixture: RecordedFixture): ExpectedRecord => {
  const e = fixture.expected;
  const adapterId = adapterIdFor(fixture);
  const gemini = adapterId === 'gemini' || adapterId === 'vertex-ai';
  const num = (key: string): number | undefined => opt<number>(e[key]);

  // semconv v1.41.1: Gemini `generateContent` is `generate_content` (the fixtures say `chat`).
  const operation = (gemini && e.operation === 'chat' ? 'generate_content' : e.operation) as Operation;

  let input = num('input_tokens');
  let output = num('output_tokens');
  const cacheRead = num('cache_read_input_tokens');
  const cacheCreation = num('cache_creation_input_tokens');
  const reasoning = num('reasoning_tokens');
  if (fixture.provider === 'anthropic') {
    // semconv: Anthropic input tokens include cache reads and writes (fixture: `input_tokens_incl_cache`).
    input = num('input_tokens_incl_cache') ?? input;
  }
  if (fixture.provider === 'bedrock' && input !== undefined) {
    // Bedrock (InvokeModel headers, Converse usage) reports cache tokens apart from input: add them.
    input += (cacheRead ?? 0) + (cacheCreation ?? 0);
  }
  if (gemini && output !== undefined && reasoning !== undefined) {
    // Gemini `candidatesTokenCount` excludes thoughts; semconv output includes reasoning.
    output += reasoning;
  }
  if (fixture.provider === 'cohere') {
    // The issue and semconv: Cohere reports billed units (the fixtures' primary figure is `tokens`).
    input = num('billed_input_tokens') ?? input;
    output = num('billed_output_tokens') ?? output;
  }

  const error = opt<Record<string, unknown>>(e.error);
  return {
    operation,
    stream: e.streaming === true,
    requestModel: REQUEST_MODEL_FROM_URL[fixture.file] ?? opt<string>(e.request_model),
    responseModel: opt<string>(e.model),
    responseId: opt<string>(e.response_id),
    usage: {
      inputTokens: input,
      outputTokens: output,
      cacheReadInputTokens: cacheRead,
      cacheCreationInputTokens: cacheCreation,
      reasoningOutputTokens: reasoning,
    },
    finishReasons: (e.finish_reasons as string[] | undefined) ?? [],
    error:
      error === undefined ? undefined : { type: errorTypeOf(error), midStream: error.mid_stream === true },
    outcome: error === undefined ? 'completed' : 'errored',
  };
};
