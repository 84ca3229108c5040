/**
 * The mutable per-call state every response parser fills: O(1) facts only (ids, counters, finish reasons).
 * Also the one place that turns provider error bodies into a low-cardinality `error.type`.
 */
import type { ParsedResponse, ResponseHead } from '../src/adapter.ts';
import { type CapturedContent, emptyUsage, type ProviderError, type Usage } from '../src/record.ts';
import { FinishReasons, str } from './common.ts';
import { SafetyState } from './safety.ts';
import { read, zAny, zFact, zObject } from './schema.ts';

/** An `error.type` must look like a code (`rate_limit_error`, `NOT_FOUND`), not a sentence. */
const CODE_LIKE = /^[A-Za-z0-9_.:-]{1,64}$/;

export const codeLike = (value: unknown): string | undefined => {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  const text = str(value);
  return text !== undefined && CODE_LIKE.test(text) ? text : undefined;
};

const stringCode = (value: unknown): string | undefined =>
  typeof value === 'string' ? codeLike(value) : undefined;

/**
 * The provider's error code/type from an error body, or undefined. Preference: a string `code` (most
 * specific: `model_not_found`), then `type` (`invalid_request_error`), then a string `status` (Gemini
 * `NOT_FOUND`), then a numeric code. Covers OpenAI-dialect, Anthropic, Gemini, AWS and Cohere shapes.
 */
export const ErrorBody = zObject({
  error: zObject({ code: zAny, type: zAny, status: zAny }),
  // AWS JSON errors: `{"__type":"com.amazon...#ValidationException","message":…}`.
  __type: zFact,
  // vLLM / SGLang / Mistral: `{"object":"error","message":…,"type":"rate_limited","code":"1300"}` at the top level.
  object: zAny,
  type: zAny,
  code: zAny,
});

export const errorTypeOf = (value: unknown): string | undefined => {
  const body = read(ErrorBody, value);
  if (body === undefined) return undefined;
  const inner = body.error;
  if (inner !== undefined) {
    return stringCode(inner.code) ?? codeLike(inner.type) ?? stringCode(inner.status) ?? codeLike(inner.code);
  }
  // Its `type` names the error (`rate_limited`, `BadRequestError`); its `code` is often a number or a status.
  if (body.object === 'error') return codeLike(body.type) ?? stringCode(body.code) ?? codeLike(body.code);
  const awsType = body.__type;
  return awsType === undefined ? undefined : codeLike(awsType.slice(awsType.lastIndexOf('#') + 1));
};

/** `x-amzn-errortype: ValidationException:http://internal.amazon.com/...` → `ValidationException`. */
export const awsErrorType = (headers: Readonly<Record<string, string>>): string | undefined => {
  const raw = headers['x-amzn-errortype'];
  if (raw === undefined) return undefined;
  const colon = raw.indexOf(':');
  return codeLike(colon === -1 ? raw : raw.slice(0, colon));
};

export class ResponseState {
  responseId: string | undefined;
  responseModel: string | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cacheReadInputTokens: number | undefined;
  cacheCreationInputTokens: number | undefined;
  reasoningOutputTokens: number | undefined;
  readonly finish = new FinishReasons();
  error: ProviderError | undefined;
  terminal = false;
  readonly httpError: boolean;
  #safety: SafetyState | undefined;

  constructor(head: ResponseHead) {
    this.httpError = head.status >= 400;
    if (this.httpError) this.error = { type: String(head.status), midStream: false };
  }

  /** The call's safety signals, created on first use (most calls have none). */
  safety(): SafetyState {
    this.#safety ??= new SafetyState();
    return this.#safety;
  }

  /** Whether any safety signal was recorded so far. */
  get hasSafety(): boolean {
    return this.#safety !== undefined;
  }

  /** Refines the HTTP error's type from the error body (keeps the status when the body names none). */
  httpErrorBody(body: unknown, fallback?: string): void {
    const type = errorTypeOf(body) ?? fallback;
    if (type !== undefined) this.error = { type, midStream: false };
  }

  /** An error reported inside a 200 stream. The first one wins. */
  streamError(type: string | undefined): void {
    if (this.error === undefined) this.error = { type: type ?? '_OTHER', midStream: true };
  }

  usage(): Usage {
    // A cut stream's usage is unknown (partial counts would under-report); an error the provider reported
    // keeps whatever usage it reported alongside.
    if (!this.terminal && this.error === undefined) return emptyUsage;
    if (this.httpError) return emptyUsage;
    return {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cacheReadInputTokens: this.cacheReadInputTokens,
      cacheCreationInputTokens: this.cacheCreationInputTokens,
      reasoningOutputTokens: this.reasoningOutputTokens,
    };
  }

  result(content?: CapturedContent): ParsedResponse {
    const base = {
      responseId: this.httpError ? undefined : this.responseId,
      responseModel: this.httpError ? undefined : this.responseModel,
      usage: this.usage(),
      finishReasons: this.httpError ? [] : this.finish.list(),
      error: this.error,
      terminal: this.terminal,
    };
    const safety = this.#safety?.facts();
    const withSafety = safety === undefined ? base : { ...base, safety };
    return content === undefined ? withSafety : { ...withSafety, content };
  }
}
