/**
 * Safety signals of the OpenAI dialect: Azure OpenAI content-filter results (`prompt_filter_results`, each
 * choice's `content_filter_results`, a 400 `content_filter` error's `innererror.content_filter_result`),
 * refusals (`message.refusal`, `delta.refusal`, Responses `refusal` parts) and `content_filter` endings.
 */
import { arr, type Json, obj } from './common.ts';
import { blockOnFinish } from './safety.ts';
import type { ResponseState } from './state.ts';

const PROMPT_KEYS = /"prompt_(?:filter_results|annotations)"/;
/** A verdict that can change a merged result: something filtered, detected, or a severity above `safe`. */
const ACTED = /"(?:filtered|detected)"\s*:\s*true|"severity"\s*:\s*"(?!safe")/;
const COMPLETION_KEY = '"content_filter_results"';

/**
 * Whether an Azure stream chunk can change the filter facts. Every Azure chunk repeats the choice's
 * `content_filter_results`; once the categories are known, only a chunk with a verdict that acted is parsed
 * (one regex scan per chunk). `prompt_filter_results` come first (the filter-only first chunk), before that.
 */
export const filterChunkWorthParsing = (text: string, state: ResponseState): boolean => {
  if (state.hasSafety && state.safety().hasCompletionFilters) {
    // Categories known: one scan for a verdict that acted (prompt results arrive before any of this).
    return ACTED.test(text);
  }
  return PROMPT_KEYS.test(text) || text.includes(COMPLETION_KEY);
};

/** Azure filter results of one body or chunk. */
export const readFilterResults = (state: ResponseState, raw: Json): void => {
  const prompts = raw.prompt_filter_results ?? raw.prompt_annotations;
  if (prompts !== undefined) state.safety().promptFilters(prompts);
  for (const item of arr(raw.choices) ?? []) {
    const results = obj(item)?.content_filter_results;
    if (results !== undefined) state.safety().completionFilters(results);
  }
};

/**
 * A 400 whose error code is `content_filter` (Azure: the prompt tripped the filter): an input block, with the
 * verdicts of `innererror.content_filter_result` when present.
 */
export const readFilterError = (state: ResponseState, raw: Json | undefined): void => {
  const error = obj(raw?.error);
  if (error?.code !== 'content_filter') return;
  const safety = state.safety();
  safety.promptCategories(undefined, obj(error.innererror)?.content_filter_result);
  safety.block('content_filter', 'input');
};

/** Non-streaming chat: a choice whose message carries a non-empty `refusal` is a refusal. */
export const readRefusals = (state: ResponseState, raw: Json): void => {
  for (const item of arr(raw.choices) ?? []) {
    const refusal = obj(obj(item)?.message)?.refusal;
    if (typeof refusal === 'string' && refusal.length > 0) {
      state.safety().block('refusal', 'output');
      return;
    }
  }
};

/** A `content_filter` finish reason (OpenAI, Azure, and OpenAI-compatible servers) is an output block. */
export const blockOnContentFilterFinish = (state: ResponseState): void => {
  if (state.finish.size > 0) blockOnFinish(state.finish.list(), () => state.safety(), CONTENT_FILTER);
};

const CONTENT_FILTER = { content_filter: 'content_filter' } as const;

/** Responses API: `refusal` output parts, and `incomplete` with `incomplete_details.reason: content_filter`. */
export const readResponsesSafety = (state: ResponseState, response: Json): void => {
  const incomplete = obj(response.incomplete_details);
  if (incomplete?.reason === 'content_filter') state.safety().block('content_filter', 'output');
  for (const item of arr(response.output) ?? []) {
    for (const part of arr(obj(item)?.content) ?? []) {
      if (obj(part)?.type === 'refusal') {
        state.safety().block('refusal', 'output');
        return;
      }
    }
  }
};
