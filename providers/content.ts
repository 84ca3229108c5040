/**
 * Opt-in content capture in the semconv v1.41.1 message shapes (`gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.system_instructions`), bounded per call by `maxCapturedChars`.
 * Only used when `options.captureContent` is true; adapters must not copy any text otherwise.
 */
import type { CapturedContent } from '../src/record.ts';
import { arr, MAX_CHOICES, obj, str } from './common.ts';

export type Part = Readonly<Record<string, unknown>>;

export interface Message {
  readonly role: string;
  readonly parts: Part[];
  readonly name?: string;
  finish_reason?: string;
}

/** Counts captured characters against the per-call cap; text past the cap is cut and flagged. */
export class ContentBudget {
  #left: number;
  truncated = false;

  constructor(max: number) {
    this.#left = Math.max(0, max);
  }

  take(text: string): string {
    if (text.length <= this.#left) {
      this.#left -= text.length;
      return text;
    }
    this.truncated = true;
    const kept = text.slice(0, this.#left);
    this.#left = 0;
    return kept;
  }

  get exhausted(): boolean {
    return this.#left === 0;
  }
}

/** Arbitrary JSON (tool arguments, tool results) as budgeted text. */
export const jsonText = (budget: ContentBudget, value: unknown): string => {
  if (typeof value === 'string') return budget.take(value);
  try {
    return budget.take(JSON.stringify(value) ?? '');
  } catch {
    return '';
  }
};

export const textPart = (budget: ContentBudget, text: string): Part => ({
  type: 'text',
  content: budget.take(text),
});

/** OpenAI-style `content`: a string or an array of typed parts. */
export const openAiContentParts = (budget: ContentBudget, content: unknown): Part[] => {
  if (typeof content === 'string') return [textPart(budget, content)];
  const parts: Part[] = [];
  for (const item of arr(content) ?? []) {
    const part = obj(item);
    if (part === undefined) continue;
    const type = str(part.type) ?? 'unknown';
    if (
      (type === 'text' || type === 'input_text' || type === 'output_text') &&
      typeof part.text === 'string'
    ) {
      parts.push(textPart(budget, part.text));
    } else if (type === 'image_url' || type === 'input_image') {
      // Image bytes/URLs can be huge or signed: record the modality only.
      parts.push({ type: 'uri', modality: 'image' });
    } else {
      parts.push({ type });
    }
  }
  return parts;
};

/** A plain-text output message. */
export const textMessage = (role: string, text: string, finishReason?: string): Message => {
  const message: Message = { role, parts: [{ type: 'text', content: text }] };
  if (finishReason !== undefined) message.finish_reason = finishReason;
  return message;
};

/** Accumulates streamed text per choice index, within the budget. */
/** Tool calls tracked per choice while streaming: bounded, like the choices. */
const MAX_TOOL_CALLS = 64;

interface StreamedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Accumulates streamed output per choice index (text and tool calls), within the budget. */
export class StreamedText {
  readonly #text: string[] = [];
  readonly #tools: (StreamedToolCall | undefined)[][] = [];
  readonly budget: ContentBudget;

  constructor(budget: ContentBudget) {
    this.budget = budget;
  }

  add(index: number, delta: string): void {
    if (index < 0 || index >= MAX_CHOICES || delta.length === 0 || this.budget.exhausted) {
      if (delta.length > 0 && this.budget.exhausted) this.budget.truncated = true;
      return;
    }
    this.#text[index] = (this.#text[index] ?? '') + this.budget.take(delta);
  }

  /** A tool call's id/name (first chunk) or a piece of its JSON arguments (later chunks). */
  toolCall(index: number, slot: number, delta: { id?: unknown; name?: unknown; arguments?: unknown }): void {
    if (index < 0 || index >= MAX_CHOICES || slot < 0 || slot >= MAX_TOOL_CALLS) return;
    const calls = this.#tools[index] ?? [];
    this.#tools[index] = calls;
    const call = calls[slot] ?? { id: '', name: '', arguments: '' };
    calls[slot] = call;
    const id = str(delta.id);
    const name = str(delta.name);
    if (id !== undefined && call.id === '') call.id = id;
    if (name !== undefined && call.name === '') call.name = name;
    if (typeof delta.arguments === 'string' && delta.arguments.length > 0) {
      if (this.budget.exhausted) this.budget.truncated = true;
      else call.arguments += this.budget.take(delta.arguments);
    }
  }

  /**
   * A tool call that arrives whole in one chunk (Gemini `functionCall`, Cohere v1 `tool-calls-generation`):
   * the next slot of its choice, arguments as JSON text as in the non-streamed shape.
   */
  appendToolCall(index: number, call: { id?: unknown; name?: unknown; arguments?: unknown }): void {
    const args = call.arguments;
    let text = '';
    if (typeof args === 'string') text = args;
    else if (args !== undefined) {
      try {
        text = JSON.stringify(args) ?? '';
      } catch {
        text = '';
      }
    }
    this.toolCall(index, this.#tools[index]?.length ?? 0, { id: call.id, name: call.name, arguments: text });
  }

  messages(finishReasons: readonly string[]): Message[] {
    const out: Message[] = [];
    const choices = Math.max(this.#text.length, this.#tools.length);
    for (let i = 0; i < choices; i++) {
      const parts: Part[] = [];
      const text = this.#text[i];
      if (text !== undefined) parts.push({ type: 'text', content: text });
      for (const call of this.#tools[i] ?? []) {
        if (call !== undefined) parts.push({ type: 'tool_call', ...call });
      }
      out.push({ role: 'assistant', parts, finish_reason: finishReasons[i] ?? '' });
    }
    return out;
  }
}

/**
 * The call's budget travels from the request side to the response side on the captured request content
 * (under a symbol, so it never serializes), making `maxCapturedChars` a cap per call, not per side.
 */
const BUDGET: unique symbol = Symbol('llmtap.contentBudget');

/** The budget for a call's response content: what the request side left, or a fresh one. */
export const responseBudget = (
  request: { readonly content?: CapturedContent | undefined },
  options: { readonly captureContent: boolean; readonly maxCapturedChars: number },
): ContentBudget | undefined => {
  if (!options.captureContent) return undefined;
  const carried = (request.content as { [BUDGET]?: ContentBudget } | undefined)?.[BUDGET];
  return carried ?? new ContentBudget(options.maxCapturedChars);
};

export const captured = (
  budget: ContentBudget,
  fields: {
    inputMessages?: readonly unknown[] | undefined;
    systemInstructions?: readonly unknown[] | undefined;
    outputMessages?: readonly unknown[] | undefined;
  },
): CapturedContent => {
  const out: {
    inputMessages?: readonly unknown[];
    systemInstructions?: readonly unknown[];
    outputMessages?: readonly unknown[];
    truncated?: boolean;
  } = {};
  if (fields.inputMessages !== undefined) out.inputMessages = fields.inputMessages;
  if (fields.systemInstructions !== undefined && fields.systemInstructions.length > 0) {
    out.systemInstructions = fields.systemInstructions;
  }
  if (fields.outputMessages !== undefined) out.outputMessages = fields.outputMessages;
  if (budget.truncated) out.truncated = true;
  Object.defineProperty(out, BUDGET, { value: budget, enumerable: false });
  return out;
};
