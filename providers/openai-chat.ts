/**
 * OpenAI-dialect response parsers for chat completions, legacy completions, embeddings and images:
 * one JSON body, or an SSE stream of chunks ending in `[DONE]`. Usage is the last non-null `usage`
 * (the `include_usage` chunk, Mistral's/Together's finish chunk, Groq's `x_groq.usage`).
 */
import type { Frame, OutputSignal, ParsedResponse, ResponseHead, ResponseParser } from '../src/adapter.ts';
import { parseJsonObject } from '../src/adapter.ts';
import { arr, FACT_MEMBER, hasStringMember, memberChecks, OUTPUT_MEMBER, obj, str } from './common.ts';
import { type ContentBudget, captured, jsonText, type Message, type Part, StreamedText } from './content.ts';
import type { OpenAiApi } from './openai-request.ts';
import {
  blockOnContentFilterFinish,
  filterChunkWorthParsing,
  readFilterError,
  readFilterResults,
  readRefusals,
} from './openai-safety.ts';
import { ChatChunk, type Usage } from './openai-schemas.ts';
import { read } from './schema.ts';
import { codeLike, errorTypeOf, ResponseState } from './state.ts';

/**
 * The billed output tokens. OpenAI counts reasoning inside `completion_tokens`; xAI counts it beside them
 * ("reasoning token consumption will be counted separately from completion_tokens, but will be counted in
 * the total_tokens", docs.x.ai/docs/key-information/consumption-and-rate-limits; its example: 32 prompt +
 * 9 completion + 94 reasoning = 135 total). The usage object itself tells which: only when `total_tokens`
 * is exactly prompt + completion + reasoning (reasoning > 0) are the reasoning tokens added, so a grok
 * model reached through any OpenAI-dialect route is counted right and an OpenAI body never changes.
 */
const outputWithReasoning = (usage: Usage, reasoning: number | undefined): number | undefined => {
  const completion = usage.completion_tokens;
  if (completion === undefined || reasoning === undefined || reasoning === 0) return completion;
  const { prompt_tokens: prompt, total_tokens: total } = usage;
  return prompt !== undefined && total === prompt + completion + reasoning
    ? completion + reasoning
    : completion;
};

/** Reads an OpenAI-style usage object; prompt/completion totals already include cached/reasoning tokens. */
export const readOpenAiUsage = (state: ResponseState, usage: Usage, api: OpenAiApi): void => {
  if (api === 'images') {
    // gpt-image-* report `input_tokens`/`output_tokens`; DALL·E reports nothing.
    state.inputTokens = usage.input_tokens ?? state.inputTokens;
    state.outputTokens = usage.output_tokens ?? state.outputTokens;
    return;
  }
  state.inputTokens = usage.prompt_tokens ?? state.inputTokens;
  if (api === 'embeddings') return;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  state.outputTokens = outputWithReasoning(usage, reasoning) ?? state.outputTokens;
  const prompt = usage.prompt_tokens_details;
  // DeepSeek: `prompt_cache_hit_tokens`; Together (and Moonshot): a top-level `cached_tokens`.
  state.cacheReadInputTokens =
    prompt?.cached_tokens ??
    usage.prompt_cache_hit_tokens ??
    usage.cached_tokens ??
    state.cacheReadInputTokens;
  state.cacheCreationInputTokens = prompt?.cache_write_tokens ?? state.cacheCreationInputTokens;
  state.reasoningOutputTokens = reasoning ?? state.reasoningOutputTokens;
};

/** A chunk or body reporting an error: `{"error":{…}}` (OpenRouter, OpenAI) or vLLM's `{"object":"error"}`. */
const inlineErrorType = (chunk: ChatChunk, raw: unknown): string | undefined | null => {
  if (obj(chunk.error) !== undefined) return errorTypeOf(raw);
  if (chunk.object === 'error') {
    const vllm = obj(raw);
    return codeLike(vllm?.type) ?? codeLike(vllm?.code) ?? '_OTHER';
  }
  return null;
};

const outputMessages = (budget: ContentBudget, choices: readonly unknown[]): Message[] => {
  const out: Message[] = [];
  for (const item of choices) {
    const choice = obj(item);
    if (choice === undefined) continue;
    const message = obj(choice.message);
    const parts: Part[] = [];
    const text = typeof message?.content === 'string' ? message.content : str(choice.text);
    if (text !== undefined) parts.push({ type: 'text', content: budget.take(text) });
    for (const call of arr(message?.tool_calls) ?? []) {
      const fn = obj(obj(call)?.function);
      parts.push({
        type: 'tool_call',
        id: str(obj(call)?.id) ?? '',
        name: str(fn?.name) ?? '',
        arguments: jsonText(budget, fn?.arguments ?? ''),
      });
    }
    out.push({
      role: str(message?.role) ?? 'assistant',
      parts,
      finish_reason: str(choice.finish_reason) ?? '',
    });
  }
  return out;
};

/** One JSON body (any API except Responses). */
export class OpenAiJsonParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #api: OpenAiApi;
  readonly #budget: ContentBudget | undefined;
  readonly #filters: boolean;
  #output: Message[] | undefined;

  /** `filters`: read Azure OpenAI content-filter results. */
  constructor(api: OpenAiApi, head: ResponseHead, budget: ContentBudget | undefined, filters = false) {
    this.#api = api;
    this.#state = new ResponseState(head);
    this.#budget = budget;
    this.#filters = filters;
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const raw = parseJsonObject(frame.text);
    if (state.httpError) {
      state.terminal = true;
      state.httpErrorBody(raw);
      readFilterError(state, raw);
      return;
    }
    const body = read(ChatChunk, raw);
    // A 200 body that is not a JSON object (a proxy's HTML page) is not a complete answer.
    if (body === undefined) return;
    state.terminal = true;
    const errorType = inlineErrorType(body, raw);
    if (errorType !== null) {
      state.streamError(errorType);
      return;
    }
    state.responseId = body.id;
    state.responseModel = body.model;
    const choices = body.choices ?? [];
    choices.forEach((choice, position) => {
      state.finish.set(choice?.index ?? position, choice?.finish_reason);
    });
    if (body.usage !== undefined) readOpenAiUsage(state, body.usage, this.#api);
    if (raw !== undefined) {
      if (this.#filters) readFilterResults(state, raw);
      if (this.#api === 'chat') readRefusals(state, raw);
    }
    if (choices.length > 0 || Array.isArray(body.data)) signal.output();
    if (this.#budget !== undefined && choices.length > 0) {
      this.#output = outputMessages(this.#budget, arr(raw?.choices) ?? []);
    }
  }

  finish(): ParsedResponse {
    blockOnContentFilterFinish(this.#state);
    if (this.#budget === undefined) return this.#state.result();
    return this.#state.result(captured(this.#budget, { outputMessages: this.#output }));
  }
}

const DONE = '[DONE]';

/*
 * One regex pass per chunk instead of several `indexOf` passes (a missing key costs a full scan each):
 * a non-empty output member, and a member with a non-null value that can change a fact. Keys inside string
 * values cannot match (their quotes are escaped); a false positive only costs a parse.
 */
const FACT_KEYS = ['finish_reason', 'usage', 'error'];
const CHAT_CHECKS = memberChecks(
  ['content', 'tool_calls', 'reasoning_content', 'reasoning', 'refusal'],
  FACT_KEYS,
);
const TEXT_CHECKS = memberChecks(['text'], FACT_KEYS);

/** The SSE chunk stream of chat or legacy completions. */
export class OpenAiStreamParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #api: OpenAiApi;
  readonly #text: StreamedText | undefined;
  readonly #filters: boolean;
  /** Chunks parsed while id/model are still unknown (Azure's first chunk has neither), bounded. */
  #headParses = 0;
  #sawDone = false;
  #refusalChecks = 0;

  /** `filters`: read Azure OpenAI content-filter results (the filter-only first chunk, every choice's). */
  constructor(api: OpenAiApi, head: ResponseHead, budget: ContentBudget | undefined, filters = false) {
    this.#api = api;
    this.#state = new ResponseState(head);
    this.#text = budget === undefined ? undefined : new StreamedText(budget);
    this.#filters = filters;
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const text = frame.text;
    if (frame.event === 'error') {
      state.streamError(errorTypeOf(parseJsonObject(text)));
      return;
    }
    if (text === DONE) {
      this.#sawDone = true;
      state.terminal = true;
      return;
    }
    const members = (this.#api === 'completions' ? TEXT_CHECKS : CHAT_CHECKS)(text);
    if ((members & OUTPUT_MEMBER) !== 0) {
      signal.output();
      // A refusal streams as `delta.refusal` text instead of `delta.content`, from the first output chunk on:
      // only the first two output chunks are scanned, so a long stream pays nothing per chunk for it.
      if (this.#refusalChecks < 2 && this.#api === 'chat') {
        this.#refusalChecks += 1;
        if (hasStringMember(text, '"refusal"')) {
          this.#refusalChecks = 2;
          state.safety().block('refusal', 'output');
        }
      }
    }
    const needHead =
      (state.responseId === undefined || state.responseModel === undefined) && this.#headParses < 16;
    const filters = this.#filters && filterChunkWorthParsing(text, state);
    // Pure content deltas change no fact: skip their JSON.parse unless content capture is on.
    if (!needHead && !filters && this.#text === undefined && (members & FACT_MEMBER) === 0) {
      return;
    }
    const raw = parseJsonObject(text);
    const chunk = read(ChatChunk, raw);
    if (chunk === undefined) return;
    if (filters && raw !== undefined) readFilterResults(state, raw);
    if (needHead) this.#headParses++;
    const errorType = inlineErrorType(chunk, raw);
    if (errorType !== null) state.streamError(errorType);
    state.responseId ??= chunk.id;
    state.responseModel ??= chunk.model;
    const choices = chunk.choices ?? [];
    for (let position = 0; position < choices.length; position++) {
      const choice = choices[position];
      if (choice === undefined) continue;
      const index = choice.index ?? position;
      state.finish.set(index, choice.finish_reason);
      if (this.#text !== undefined) {
        const delta = this.#api === 'completions' ? choice.text : choice.delta?.content;
        if (typeof delta === 'string') this.#text.add(index, delta);
        this.#toolCalls(index, choice.delta?.tool_calls);
      }
    }
    const usage = chunk.usage ?? chunk.x_groq?.usage;
    if (usage !== undefined) readOpenAiUsage(state, usage, this.#api);
  }

  /** Streamed tool calls (content capture only): `{index, id, function: {name, arguments}}` pieces. */
  #toolCalls(index: number, calls: unknown): void {
    const text = this.#text;
    if (text === undefined || !Array.isArray(calls)) return;
    calls.forEach((item: unknown, position) => {
      const call = obj(item);
      const fn = obj(call?.function);
      const slot = typeof call?.index === 'number' ? call.index : position;
      text.toolCall(index, slot, { id: call?.id, name: fn?.name, arguments: fn?.arguments });
    });
  }

  finish(complete: boolean): ParsedResponse {
    // Servers that omit `[DONE]` still end a clean body after every choice finished.
    if (!this.#sawDone && complete && this.#state.finish.size > 0) this.#state.terminal = true;
    blockOnContentFilterFinish(this.#state);
    if (this.#text === undefined) return this.#state.result();
    const messages = this.#text.messages(this.#state.finish.list());
    return this.#state.result(captured(this.#text.budget, { outputMessages: messages }));
  }
}
