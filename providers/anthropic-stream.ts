/**
 * Anthropic Messages streams: `message_start` (id, model, input and cache tokens), cumulative
 * `message_delta` (stop reason, output tokens; present fields override), `message_stop` (terminal),
 * `error`. Used by the Anthropic adapter and for Claude on Bedrock InvokeModel streams and on Vertex AI.
 * Content deltas are not parsed unless content capture is on.
 */
import type { OutputSignal } from '../src/adapter.ts';
import { parseJsonObject } from '../src/adapter.ts';
import { AnthropicEvent, type AnthropicUsage, LegacyCompletion } from './anthropic-schemas.ts';
import { type Json, nonEmptyMember, obj, sumKnown } from './common.ts';
import type { StreamedText } from './content.ts';
import { read } from './schema.ts';
import { codeLike, type ResponseState } from './state.ts';

/** Reads an Anthropic usage object; fields absent here leave earlier values (message_delta overrides). */
export const readAnthropicUsage = (
  state: ResponseState,
  usage: AnthropicUsage,
  raw: AnthropicRawUsage,
): void => {
  raw.input = usage.input_tokens ?? raw.input;
  raw.cacheRead = usage.cache_read_input_tokens ?? raw.cacheRead;
  raw.cacheCreation = usage.cache_creation_input_tokens ?? raw.cacheCreation;
  state.outputTokens = usage.output_tokens ?? state.outputTokens;
  state.reasoningOutputTokens = usage.output_tokens_details?.thinking_tokens ?? state.reasoningOutputTokens;
  state.inputTokens = sumKnown(raw.input, raw.cacheRead, raw.cacheCreation);
  state.cacheReadInputTokens = raw.cacheRead;
  state.cacheCreationInputTokens = raw.cacheCreation;
};

export interface AnthropicRawUsage {
  input: number | undefined;
  cacheRead: number | undefined;
  cacheCreation: number | undefined;
}

/** Reads one Anthropic stream event (also used for Bedrock InvokeModel streams of Claude models). */
export class AnthropicEvents {
  readonly raw: AnthropicRawUsage = { input: undefined, cacheRead: undefined, cacheCreation: undefined };
  readonly #state: ResponseState;
  readonly #text: StreamedText | undefined;

  constructor(state: ResponseState, text: StreamedText | undefined) {
    this.#state = state;
    this.#text = text;
  }

  /** `type` is the SSE event name, or undefined to sniff it from the payload. */
  push(type: string | undefined, text: string, signal: OutputSignal): void {
    const state = this.#state;
    const kind = type ?? sniff(text);
    if (kind === 'completion') {
      this.#legacyCompletion(text, signal);
      return;
    }
    if (kind === 'content_block_delta') {
      signal.output();
      if (this.#text !== undefined) {
        const event = parseJsonObject(text);
        const delta = obj(event?.delta);
        if (typeof delta?.text === 'string') this.#text.add(0, delta.text);
        else if (typeof delta?.partial_json === 'string') {
          this.#text.toolCall(0, blockIndex(event), { arguments: delta.partial_json });
        }
      }
      return;
    }
    if (kind === 'content_block_start' && this.#text !== undefined) {
      // Content capture only: a tool call's id and name arrive when its block starts.
      const event = parseJsonObject(text);
      const block = obj(event?.content_block);
      if (block?.type === 'tool_use' || block?.type === 'server_tool_use') {
        this.#text.toolCall(0, blockIndex(event), { id: block.id, name: block.name });
      }
      return;
    }
    if (kind === 'message_stop') {
      state.terminal = true;
      return;
    }
    if (kind !== 'message_start' && kind !== 'message_delta' && kind !== 'error') return;
    const event = read(AnthropicEvent, parseJsonObject(text));
    if (event === undefined) return;
    if (kind === 'error') {
      state.streamError(codeLike(event.error?.type) ?? 'error');
      return;
    }
    if (kind === 'message_start') {
      state.responseId ??= event.message?.id;
      state.responseModel ??= event.message?.model;
      if (event.message?.usage !== undefined) readAnthropicUsage(state, event.message.usage, this.raw);
      return;
    }
    state.finish.replace(0, event.delta?.stop_reason);
    if (event.usage !== undefined) readAnthropicUsage(state, event.usage, this.raw);
  }

  /**
   * Legacy `/v1/complete` streams: `completion` events carrying id and model on each, and a non-null
   * `stop_reason` on the last (there is no usage and no `message_stop`).
   */
  #legacyCompletion(text: string, signal: OutputSignal): void {
    const state = this.#state;
    if (COMPLETION_TEXT.test(text)) signal.output();
    const needed = this.#text !== undefined || state.responseId === undefined || LEGACY_STOP.test(text);
    if (!needed) return;
    const event = read(LegacyCompletion, parseJsonObject(text));
    if (event === undefined) return;
    state.responseId ??= event.id;
    state.responseModel ??= event.model;
    if (this.#text !== undefined && typeof event.completion === 'string') this.#text.add(0, event.completion);
    if (event.stop_reason !== undefined) {
      state.finish.set(0, event.stop_reason);
      state.terminal = true;
    }
  }
}

const COMPLETION_TEXT = nonEmptyMember(['completion']);
const LEGACY_STOP = /"stop_reason"\s*:\s*"/;

const blockIndex = (event: Json | undefined): number =>
  typeof event?.index === 'number' && Number.isInteger(event.index) ? event.index : 0;

const TYPE_PREFIX = '"type":"';
const sniff = (text: string): string | undefined => {
  const at = text.indexOf(TYPE_PREFIX);
  if (at === -1) return undefined;
  const end = text.indexOf('"', at + TYPE_PREFIX.length);
  return end === -1 ? undefined : text.slice(at + TYPE_PREFIX.length, end);
};
