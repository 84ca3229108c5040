/**
 * Bedrock Converse / ConverseStream: request parameters, message content in the semconv shape, and usage
 * (Bedrock's `inputTokens` excludes cache reads and writes; semconv input includes them).
 */
import type { ParseOptions } from '../src/adapter.ts';
import type { CapturedContent, RequestParams } from '../src/record.ts';
import { arr, count, definedOnly, type Json, num, obj, stopSequences, str, sumKnown } from './common.ts';
import { ContentBudget, captured, jsonText, type Message, type Part } from './content.ts';
import type { ResponseState } from './state.ts';

export const converseParams = (body: Json): RequestParams => {
  const config = obj(body.inferenceConfig) ?? {};
  return definedOnly<RequestParams>({
    temperature: num(config.temperature),
    topP: num(config.topP),
    maxTokens: count(config.maxTokens),
    stopSequences: stopSequences(config.stopSequences),
  });
};

export const converseParts = (budget: ContentBudget, content: unknown): Part[] => {
  const parts: Part[] = [];
  for (const item of arr(content) ?? []) {
    const block = obj(item);
    if (block === undefined) continue;
    const toolUse = obj(block.toolUse);
    const toolResult = obj(block.toolResult);
    const reasoning = obj(obj(block.reasoningContent)?.reasoningText);
    if (typeof block.text === 'string') parts.push({ type: 'text', content: budget.take(block.text) });
    else if (toolUse !== undefined) {
      parts.push(
        definedOnly<Part>({
          type: 'tool_call',
          id: str(toolUse.toolUseId),
          name: str(toolUse.name),
          arguments: jsonText(budget, toolUse.input),
        }),
      );
    } else if (toolResult !== undefined) {
      parts.push(
        definedOnly<Part>({
          type: 'tool_call_response',
          id: str(toolResult.toolUseId),
          response: jsonText(budget, toolResult.content),
        }),
      );
    } else if (typeof reasoning?.text === 'string') {
      parts.push({ type: 'reasoning', content: budget.take(reasoning.text) });
    } else if (block.image !== undefined || block.document !== undefined) {
      parts.push({ type: 'blob', modality: block.image !== undefined ? 'image' : 'document' });
    }
  }
  return parts;
};

export const converseInput = (body: Json, options: ParseOptions): CapturedContent => {
  const budget = new ContentBudget(options.maxCapturedChars);
  const messages: Message[] = [];
  for (const item of arr(body.messages) ?? []) {
    const message = obj(item);
    if (message !== undefined) {
      messages.push({ role: str(message.role) ?? 'user', parts: converseParts(budget, message.content) });
    }
  }
  return captured(budget, {
    inputMessages: messages,
    systemInstructions: converseParts(budget, body.system),
  });
};

export const readConverseUsage = (state: ResponseState, usage: Json): void => {
  const cacheRead = count(usage.cacheReadInputTokens);
  const cacheWrite = count(usage.cacheWriteInputTokens);
  state.inputTokens = sumKnown(count(usage.inputTokens), cacheRead, cacheWrite);
  state.outputTokens = count(usage.outputTokens);
  state.cacheReadInputTokens = cacheRead;
  state.cacheCreationInputTokens = cacheWrite;
};
