/**
 * `LlmCall` → OpenTelemetry attributes and the call's `error.type`. Pure functions over the record, so
 * spans, metrics and the log line agree on every value. Unknown stays absent — never 0.
 */
import type { Attributes } from '@opentelemetry/api';
import type { CapturedContent, LlmCall } from '../record.ts';
import { redactText } from '../redact.ts';
import { ATTR, ERROR_TYPE } from './semconv.ts';

/** Longest string llmtap copies from a request or response into an attribute (model ids, response ids). */
const maxValueChars = 256;

const clip = (value: string): string =>
  value.length > maxValueChars ? value.slice(0, maxValueChars) : value;

const set = (attrs: Attributes, key: string, value: string | number | boolean | undefined): void => {
  if (value === undefined) return;
  attrs[key] = typeof value === 'string' ? clip(value) : value;
};

const errorCode = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The call's `error.type`, or undefined when it succeeded. In order: the provider's own error type
 * (`rate_limit_exceeded`, `overloaded_error`, or the HTTP status), the transport failure code
 * (`ECONNREFUSED`, `UND_ERR_SOCKET`, `CLIENT_ABORTED`…), the HTTP status ≥ 400, then
 * `incomplete_response` when the body ended before the provider's terminal signal. A copy that llmtap
 * itself cut (capture limit) is not an error of the app's call.
 */
export const errorTypeOf = (call: LlmCall): string | undefined => {
  const provider = call.response.error?.type;
  if (provider !== undefined) return errorCode.test(provider) ? provider : ERROR_TYPE.other;
  if (call.transportError !== undefined) {
    return errorCode.test(call.transportError) ? call.transportError : ERROR_TYPE.other;
  }
  if (call.httpStatus !== undefined && call.httpStatus >= 400) return String(call.httpStatus);
  if (call.outcome === 'errored') return ERROR_TYPE.other;
  if (call.outcome === 'incomplete' && !call.truncated) return ERROR_TYPE.incomplete;
  return undefined;
};

/** `{gen_ai.operation.name} {gen_ai.request.model}`, or just the operation when the request names no model. */
export const spanName = (call: LlmCall): string => {
  const model = call.request.requestModel;
  return model === undefined || model === ''
    ? call.request.operation
    : `${call.request.operation} ${clip(model)}`;
};

/** Attributes shared by the span and every GenAI metric (semconv metric base attributes). */
export const baseAttributes = (call: LlmCall): Attributes => {
  const attrs: Attributes = {
    [ATTR.operationName]: call.request.operation,
    [ATTR.providerName]: clip(call.provider),
    [ATTR.serverAddress]: call.serverAddress,
    [ATTR.serverPort]: call.serverPort,
  };
  set(attrs, ATTR.requestModel, call.request.requestModel);
  set(attrs, ATTR.responseModel, call.response.responseModel);
  return attrs;
};

const seconds = (from: number | undefined, to: number | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.max(0, to - from) / 1000;

/** Time to first output chunk in seconds, streaming calls only. */
export const timeToFirstChunk = (call: LlmCall): number | undefined =>
  call.request.stream ? seconds(call.timing.start, call.timing.firstOutput) : undefined;

/** Every span attribute except content. `errorType` as computed by `errorTypeOf`. */
export const spanAttributes = (
  call: LlmCall,
  errorType: string | undefined,
  cost: number | undefined,
  priceTableVersion: string | undefined,
): Attributes => {
  const attrs = baseAttributes(call);
  const { params } = call.request;
  // Semconv: `gen_ai.request.stream` is set iff streaming; unset means non-streaming.
  if (call.request.stream) attrs[ATTR.requestStream] = true;
  set(attrs, ATTR.requestTemperature, params.temperature);
  set(attrs, ATTR.requestTopP, params.topP);
  set(attrs, ATTR.requestTopK, params.topK);
  set(attrs, ATTR.requestMaxTokens, params.maxTokens);
  set(attrs, ATTR.requestSeed, params.seed);
  set(attrs, ATTR.requestFrequencyPenalty, params.frequencyPenalty);
  set(attrs, ATTR.requestPresencePenalty, params.presencePenalty);
  if (params.choiceCount !== undefined && params.choiceCount !== 1) {
    attrs[ATTR.requestChoiceCount] = params.choiceCount;
  }
  set(attrs, ATTR.outputType, params.outputType);
  if (params.stopSequences !== undefined && params.stopSequences.length > 0) {
    attrs[ATTR.requestStopSequences] = params.stopSequences.slice(0, 16).map(clip);
  }
  if (params.encodingFormats !== undefined && params.encodingFormats.length > 0) {
    attrs[ATTR.requestEncodingFormats] = params.encodingFormats.slice(0, 16).map(clip);
  }
  const { response } = call;
  set(attrs, ATTR.responseId, response.responseId);
  if (response.finishReasons.length > 0) {
    attrs[ATTR.responseFinishReasons] = response.finishReasons.slice(0, 128).map(clip);
  }
  const { usage } = response;
  set(attrs, ATTR.usageInputTokens, usage.inputTokens);
  set(attrs, ATTR.usageOutputTokens, usage.outputTokens);
  set(attrs, ATTR.usageCacheReadInputTokens, usage.cacheReadInputTokens);
  set(attrs, ATTR.usageCacheCreationInputTokens, usage.cacheCreationInputTokens);
  set(attrs, ATTR.usageReasoningOutputTokens, usage.reasoningOutputTokens);
  set(attrs, ATTR.responseTimeToFirstChunk, timeToFirstChunk(call));
  set(attrs, ATTR.httpResponseStatusCode, call.httpStatus);
  set(attrs, ATTR.errorType, errorType);
  if (cost !== undefined) {
    attrs[ATTR.usageCost] = cost;
    set(attrs, ATTR.priceTableVersion, priceTableVersion);
  }
  if (call.truncated) attrs[ATTR.captureTruncated] = true;
  const extra = call.extraAttributes;
  if (extra !== undefined) for (const key of Object.keys(extra)) set(attrs, key, extra[key]);
  return attrs;
};

/** JSON text of one content attribute, cut at `maxChars` with a visible marker; credentials redacted. */
const contentJson = (value: readonly unknown[], maxChars: number): { text: string; cut: boolean } => {
  const text = redactText(JSON.stringify(value));
  if (text.length <= maxChars) return { text, cut: false };
  const marker = `…[truncated by llmtap: ${text.length} chars]`;
  return { text: `${text.slice(0, Math.max(0, maxChars - marker.length))}${marker}`, cut: true };
};

/**
 * The opt-in content attributes (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.system_instructions`) as JSON strings in the semconv structure the adapters produced.
 */
export const contentAttributes = (content: CapturedContent | undefined, maxChars: number): Attributes => {
  const attrs: Attributes = {};
  if (content === undefined) return attrs;
  let cut = content.truncated === true;
  const add = (key: string, value: readonly unknown[] | undefined): void => {
    if (value === undefined || value.length === 0) return;
    const json = contentJson(value, maxChars);
    attrs[key] = json.text;
    cut ||= json.cut;
  };
  add(ATTR.inputMessages, content.inputMessages);
  add(ATTR.systemInstructions, content.systemInstructions);
  add(ATTR.outputMessages, content.outputMessages);
  if (cut) attrs[ATTR.contentTruncated] = true;
  return attrs;
};
