/**
 * OpenLLMetry's legacy span attribute names (`LLMTAP_SEMCONV_COMPAT=openllmetry`), added next to the semconv
 * v1.41.1 ones, never instead of them: older dashboards and notebooks still query `gen_ai.system`,
 * `gen_ai.usage.prompt_tokens` or `llm.request.type`. Values are copies of what the semconv attributes say, so the
 * two vocabularies can never disagree. Names from traceloop/openllmetry `opentelemetry-semantic-conventions-ai`
 * ≤ 0.4 and openllmetry-js ≤ 0.22 (docs/telemetry.md, "Legacy OpenLLMetry names").
 */
import type { Attributes } from '@opentelemetry/api';
import type { CapturedContent, LlmCall, Operation } from '../record.ts';
import { redactText } from '../redact.ts';

export const LEGACY = {
  system: 'gen_ai.system',
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens',
  totalTokens: 'llm.usage.total_tokens',
  requestType: 'llm.request.type',
  isStreaming: 'llm.is_streaming',
} as const;

/**
 * `llm.request.type` (OpenLLMetry's `LLMRequestTypeValues`: chat, completion, embedding, rerank, unknown).
 * `generate_content` is Gemini's chat, and dashboards keep only chat/completion in their prompt views.
 */
const requestTypes: Readonly<Record<Operation, string>> = {
  chat: 'chat',
  generate_content: 'chat',
  text_completion: 'completion',
  embeddings: 'embedding',
  rerank: 'rerank',
  image_generation: 'unknown',
  count_tokens: 'unknown',
};

/**
 * The legacy attributes of one call. `gen_ai.system` is exactly the `gen_ai.provider.name` value (never
 * OpenLLMetry's capitalised `Anthropic`/`AWS`): backends that prefer `gen_ai.system` when both are set would
 * otherwise split one provider in two. Unknown token counts stay absent, as the semconv ones do.
 */
export const legacyAttributes = (call: LlmCall, providerName: string): Attributes => {
  const attrs: Attributes = {
    [LEGACY.system]: providerName,
    [LEGACY.requestType]: requestTypes[call.request.operation] ?? 'unknown',
    [LEGACY.isStreaming]: call.request.stream,
  };
  const { inputTokens, outputTokens } = call.response.usage;
  if (inputTokens !== undefined) attrs[LEGACY.promptTokens] = inputTokens;
  if (outputTokens !== undefined) attrs[LEGACY.completionTokens] = outputTokens;
  if (inputTokens !== undefined && outputTokens !== undefined) {
    attrs[LEGACY.totalTokens] = inputTokens + outputTokens;
  }
  return attrs;
};

/** At most this many flattened attributes per span: the SDK's default limit is 128 attributes per span. */
export const MAX_FLATTENED_ATTRIBUTES = 64;

const clipText = (text: string, maxChars: number): string => {
  const redacted = redactText(text);
  if (redacted.length <= maxChars) return redacted;
  const marker = `…[truncated by llmtap: ${redacted.length} chars]`;
  return `${redacted.slice(0, Math.max(0, maxChars - marker.length))}${marker}`;
};

/** A semconv message's parts as OpenLLMetry's one `content` string: the text when all parts are text, else JSON. */
const contentOf = (parts: unknown): string | undefined => {
  if (!Array.isArray(parts) || parts.length === 0) return undefined;
  const texts: string[] = [];
  for (const part of parts) {
    const { type, content } = (part ?? {}) as { type?: unknown; content?: unknown };
    if (type !== 'text' || typeof content !== 'string') return JSON.stringify(parts);
    texts.push(content);
  }
  return texts.join('');
};

interface FlatMessage {
  readonly role: string | undefined;
  readonly content: string | undefined;
  readonly finishReason?: string | undefined;
}

const flatMessage = (message: unknown): FlatMessage => {
  const m = (message ?? {}) as { role?: unknown; parts?: unknown; finish_reason?: unknown };
  return {
    role: typeof m.role === 'string' ? m.role : undefined,
    content: contentOf(m.parts),
    finishReason: typeof m.finish_reason === 'string' ? m.finish_reason : undefined,
  };
};

/**
 * The flattened content OpenLLMetry wrote before `gen_ai.input.messages` existed: `gen_ai.prompt.{i}.role/content`
 * (system instructions first, as role `system`) and `gen_ai.completion.{i}.role/content/finish_reason`. Each
 * content string is cut at `maxChars` like the JSON attributes and redacted the same way; completions come first
 * within `MAX_FLATTENED_ATTRIBUTES`, then prompts in order (the full history stays in `gen_ai.input.messages`).
 */
export const flattenedContentAttributes = (
  content: CapturedContent | undefined,
  maxChars: number,
): Attributes => {
  const attrs: Attributes = {};
  if (content === undefined) return attrs;
  let budget = MAX_FLATTENED_ATTRIBUTES;
  const put = (key: string, value: string | undefined, clip: boolean): void => {
    if (value === undefined || budget <= 0) return;
    attrs[key] = clip ? clipText(value, maxChars) : value.slice(0, 64);
    budget -= 1;
  };
  (content.outputMessages ?? []).forEach((message, i) => {
    const flat = flatMessage(message);
    put(`gen_ai.completion.${i}.role`, flat.role, false);
    put(`gen_ai.completion.${i}.content`, flat.content, true);
    put(`gen_ai.completion.${i}.finish_reason`, flat.finishReason, false);
  });
  const prompts: FlatMessage[] = [];
  const system = contentOf(content.systemInstructions);
  if (system !== undefined) prompts.push({ role: 'system', content: system });
  for (const message of content.inputMessages ?? []) prompts.push(flatMessage(message));
  prompts.forEach((flat, i) => {
    put(`gen_ai.prompt.${i}.role`, flat.role, false);
    put(`gen_ai.prompt.${i}.content`, flat.content, true);
  });
  return attrs;
};
