/**
 * OpenAI Responses API (`POST /responses`): one JSON `response` object, or SSE events whose terminal
 * `response.completed` / `response.incomplete` / `response.failed` carries the full response with usage.
 * The API has no per-choice finish reason, so `finishReasons` stays empty (the fixtures agree).
 */
import type { Frame, OutputSignal, ParsedResponse, ResponseHead, ResponseParser } from '../src/adapter.ts';
import { parseJsonObject } from '../src/adapter.ts';
import { arr, obj, str } from './common.ts';
import { type ContentBudget, captured, jsonText, type Message, type Part, StreamedText } from './content.ts';
import { readResponsesSafety } from './openai-safety.ts';
import { ResponseObject, ResponsesEvent } from './openai-schemas.ts';
import { read } from './schema.ts';
import { codeLike, errorTypeOf, ResponseState } from './state.ts';

const readUsage = (state: ResponseState, usage: NonNullable<ResponseObject['usage']>): void => {
  state.inputTokens = usage.input_tokens;
  state.outputTokens = usage.output_tokens;
  state.cacheReadInputTokens = usage.input_tokens_details?.cached_tokens;
  state.cacheCreationInputTokens = usage.input_tokens_details?.cache_write_tokens;
  state.reasoningOutputTokens = usage.output_tokens_details?.reasoning_tokens;
};

const outputMessages = (budget: ContentBudget, output: readonly unknown[], status: string): Message[] => {
  const parts: Part[] = [];
  for (const item of output) {
    const entry = obj(item);
    const type = str(entry?.type);
    if (entry === undefined) continue;
    if (type === 'message') {
      for (const piece of arr(entry.content) ?? []) {
        const part = obj(piece);
        if (typeof part?.text === 'string') parts.push({ type: 'text', content: budget.take(part.text) });
        else if (typeof part?.refusal === 'string') {
          parts.push({ type: 'text', content: budget.take(part.refusal) });
        }
      }
    } else if (type === 'function_call') {
      parts.push({
        type: 'tool_call',
        id: str(entry.call_id) ?? '',
        name: str(entry.name) ?? '',
        arguments: jsonText(budget, entry.arguments ?? ''),
      });
    }
  }
  return [{ role: 'assistant', parts, finish_reason: status }];
};

/** Lifecycle events worth parsing; everything else is output or progress. */
const LIFECYCLE = new Set([
  'response.created',
  'response.in_progress',
  'response.queued',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);
const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** `"type":"response.output_text.delta"` → its value, without parsing the frame. */
const sniffType = (text: string): string | undefined => {
  const at = text.indexOf('"type":"');
  if (at === -1) return undefined;
  const end = text.indexOf('"', at + 8);
  return end === -1 ? undefined : text.slice(at + 8, end);
};

export class ResponsesParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #stream: boolean;
  readonly #text: StreamedText | undefined;
  #output: Message[] | undefined;

  constructor(stream: boolean, head: ResponseHead, budget: ContentBudget | undefined) {
    this.#state = new ResponseState(head);
    this.#stream = stream;
    this.#text = budget === undefined ? undefined : new StreamedText(budget);
  }

  #readResponse(response: ResponseObject, terminal: boolean): void {
    const state = this.#state;
    state.responseId ??= response.id;
    state.responseModel ??= response.model;
    if (!terminal) return;
    state.terminal = true;
    if (response.usage !== undefined) readUsage(state, response.usage);
    readResponsesSafety(state, response);
    const status = response.status;
    if (status === 'failed') {
      state.streamError(errorTypeOf({ error: response.error }) ?? 'failed');
    }
    if (this.#text !== undefined && !this.#stream) {
      this.#output = outputMessages(this.#text.budget, arr(response.output) ?? [], status ?? '');
    }
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    if (!this.#stream || state.httpError) {
      const raw = parseJsonObject(frame.text);
      if (state.httpError) {
        state.terminal = true;
        state.httpErrorBody(raw);
        return;
      }
      const body = read(ResponseObject, raw);
      if (body === undefined) return;
      if (Array.isArray(body.output)) signal.output();
      this.#readResponse(body, true);
      return;
    }
    // The SSE `event:` names the type; fall back to the JSON `type` member for servers that omit it.
    const type = frame.event ?? sniffType(frame.text);
    if (type === undefined) return;
    if (type.endsWith('.delta')) {
      signal.output();
      if (type === 'response.refusal.delta') state.safety().block('refusal', 'output');
      if (this.#text !== undefined && type === 'response.output_text.delta') {
        const delta = parseJsonObject(frame.text)?.delta;
        if (typeof delta === 'string') this.#text.add(0, delta);
      }
      return;
    }
    if (!LIFECYCLE.has(type)) return;
    const raw = parseJsonObject(frame.text);
    const event = read(ResponsesEvent, raw);
    if (event === undefined) return;
    if (type === 'error') {
      state.streamError(codeLike(event.code) ?? errorTypeOf(raw) ?? 'error');
      return;
    }
    if (event.response !== undefined) this.#readResponse(event.response, TERMINAL.has(type));
  }

  finish(): ParsedResponse {
    if (this.#text === undefined) return this.#state.result();
    const output = this.#output ?? (this.#stream ? this.#text.messages([]) : undefined);
    return this.#state.result(captured(this.#text.budget, { outputMessages: output }));
  }
}
