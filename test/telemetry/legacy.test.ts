/** The legacy OpenLLMetry attributes as pure functions of the call record (the exported spans: modes.test.ts). */
import { describe, expect, it } from 'vitest';
import type { Operation } from '../../src/record.ts';
import {
  flattenedContentAttributes,
  LEGACY,
  legacyAttributes,
  MAX_FLATTENED_ATTRIBUTES,
} from '../../src/telemetry/legacy.ts';
import { anthropicCall, chatCall } from './calls.ts';

describe('legacyAttributes', () => {
  it('copies the semconv values: provider name as gen_ai.system, tokens, total, request type, streaming', () => {
    expect(legacyAttributes(chatCall(), 'openai')).toEqual({
      [LEGACY.system]: 'openai',
      [LEGACY.requestType]: 'chat',
      [LEGACY.isStreaming]: true,
      [LEGACY.promptTokens]: 1149,
      [LEGACY.completionTokens]: 353,
      [LEGACY.totalTokens]: 1502,
    });
    expect(legacyAttributes(anthropicCall(), 'anthropic')).toMatchObject({
      [LEGACY.system]: 'anthropic',
      [LEGACY.isStreaming]: false,
      [LEGACY.totalTokens]: 1167 + 202,
    });
  });

  it.each<[Operation, string]>([
    ['chat', 'chat'],
    ['generate_content', 'chat'],
    ['text_completion', 'completion'],
    ['embeddings', 'embedding'],
    ['rerank', 'rerank'],
    ['image_generation', 'unknown'],
    ['count_tokens', 'unknown'],
  ])('llm.request.type for %s is %s', (operation, type) => {
    const base = chatCall();
    const call = chatCall({ request: { ...base.request, operation } });
    expect(legacyAttributes(call, 'openai')[LEGACY.requestType]).toBe(type);
  });

  it('leaves unknown token counts (and the total) absent, never 0', () => {
    const base = chatCall();
    const call = chatCall({
      response: { ...base.response, usage: { ...base.response.usage, outputTokens: undefined } },
    });
    const attrs = legacyAttributes(call, 'openai');
    expect(attrs[LEGACY.promptTokens]).toBe(1149);
    expect(attrs).not.toHaveProperty(LEGACY.completionTokens);
    expect(attrs).not.toHaveProperty(LEGACY.totalTokens);
  });
});

describe('flattenedContentAttributes', () => {
  const text = (content: string) => [{ type: 'text', content }];

  it('system instructions first, then input messages; completions with finish reasons; other parts as JSON', () => {
    const toolCall = { type: 'tool_call', id: 'call_1', name: 'weather', arguments: { city: 'Oslo' } };
    const attrs = flattenedContentAttributes(
      {
        systemInstructions: text('Be brief.'),
        inputMessages: [{ role: 'user', parts: [...text('Weather '), ...text('in Oslo?')] }],
        outputMessages: [{ role: 'assistant', parts: [toolCall], finish_reason: 'tool_call' }],
      },
      1000,
    );
    expect(attrs).toEqual({
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': 'Be brief.',
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': 'Weather in Oslo?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': JSON.stringify([toolCall]),
      'gen_ai.completion.0.finish_reason': 'tool_call',
    });
  });

  it('cuts each content at maxChars with the marker and redacts credentials', () => {
    const secret = 'sk-proj-LEGACYCANARY0123456789abcdefgh';
    const attrs = flattenedContentAttributes(
      { inputMessages: [{ role: 'user', parts: text(`key ${secret} ${'x'.repeat(500)}`) }] },
      100,
    );
    const content = String(attrs['gen_ai.prompt.0.content']);
    expect(content).toHaveLength(100);
    expect(content).toMatch(/…\[truncated by llmtap: \d+ chars\]$/);
    expect(content).not.toContain('LEGACYCANARY');
  });

  it(`writes at most ${MAX_FLATTENED_ATTRIBUTES} attributes, completions first, then prompts in order`, () => {
    const inputMessages = Array.from({ length: 100 }, (_, i) => ({ role: 'user', parts: text(`m${i}`) }));
    const attrs = flattenedContentAttributes(
      { inputMessages, outputMessages: [{ role: 'assistant', parts: text('ok'), finish_reason: 'stop' }] },
      1000,
    );
    expect(Object.keys(attrs)).toHaveLength(MAX_FLATTENED_ATTRIBUTES);
    expect(attrs['gen_ai.completion.0.content']).toBe('ok');
    expect(attrs['gen_ai.prompt.0.content']).toBe('m0');
    const last = (MAX_FLATTENED_ATTRIBUTES - 3) / 2 - 1; // 3 completion attributes, 2 per prompt
    expect(attrs[`gen_ai.prompt.${Math.floor(last)}.role`]).toBe('user');
    expect(attrs).not.toHaveProperty('gen_ai.prompt.99.content');
  });

  it('writes nothing without captured content', () => {
    expect(flattenedContentAttributes(undefined, 1000)).toEqual({});
  });
});
