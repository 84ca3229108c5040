/**
 * Bedrock Converse / ConverseStream: request parameters, message content in the semconv shape, and usage
 * (Bedrock's `inputTokens` excludes cache reads and writes; semconv input includes them).
 */
import type { ParseOptions } from '../src/adapter.ts';
import type { CapturedContent, RequestParams } from '../src/record.ts';
import { ConverseRequest, type ConverseUsage } from './bedrock-schemas.ts';
import { arr, definedOnly, type Json, obj, str, sumKnown } from './common.ts';
import { ContentBudget, captured, jsonText, type Message, type Part } from './content.ts';
import { read } from './schema.ts';
import type { ResponseState } from './state.ts';

export const converseParams = (rawBody: unknown): RequestParams => {
  const config = read(ConverseRequest, rawBody)?.inferenceConfig ?? {};
  return definedOnly<RequestParams>({
    temperature: config.temperature,
    topP: config.topP,
    maxTokens: config.maxTokens,
    stopSequences: config.stopSequences,
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

export const readConverseUsage = (state: ResponseState, usage: ConverseUsage): void => {
  const cacheRead = usage.cacheReadInputTokens;
  const cacheWrite = usage.cacheWriteInputTokens;
  state.inputTokens = sumKnown(usage.inputTokens, cacheRead, cacheWrite);
  state.outputTokens = usage.outputTokens;
  state.cacheReadInputTokens = cacheRead;
  state.cacheCreationInputTokens = cacheWrite;
};
