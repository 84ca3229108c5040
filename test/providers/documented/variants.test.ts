/**
 * The wire variants of #17 replayed through the real capture tap, from documented examples (./fixtures.ts: built
 * from the providers' documentation, not recorded). Each is replayed whole, byte by byte and in random splits, so a
 * variant read right only when whole would fail. The earlier synthesised cases are in ../wire-variants.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../../../src/record.ts';
import type { Chunking } from '../../capture/drive-tap.ts';
import { replay } from '../helpers.ts';
import {
  anthropicPauseTurnStream,
  bedrockInvokeStreamThrottled,
  bedrockModelStreamError,
  cohereCitations,
  cohereStreamError,
  cohereToolPlan,
  type DocumentedFixture,
  geminiSafetyJsonArray,
  httpErrors,
  ollamaChatNonStream,
  ollamaGenerateLength,
  ollamaOpenAiCompatible,
  openaiResponsesFailed,
  vllmContinuousUsage,
  xaiReasoning,
  xaiStreamLiveSearch,
} from './fixtures.ts';

/** Splits that land inside UTF-8 sequences, `\r\n` pairs, JSON members and eventstream preludes. */
const SPLITS: readonly Chunking[] = ['byte', { size: 7 }, { random: 17, maxChunk: 64 }];

/** Every chunking must give the record of the whole body; returns the call. */
const replayBoth = async (fixture: DocumentedFixture, captureContent = false): Promise<LlmCall> => {
  const whole = await replay(fixture.exchange, 'whole', { captureContent });
  for (const split of SPLITS) {
    const pieces = await replay(fixture.exchange, split, { captureContent });
    expect(pieces.response, JSON.stringify(split)).toEqual(whole.response);
    expect(pieces.outcome, JSON.stringify(split)).toBe(whole.outcome);
  }
  return whole;
};

describe('Cohere v2 stream events (docs.cohere.com/v2/docs/streaming)', () => {
  it('citation-start/end and debug change nothing; id, COMPLETE and billed usage are read', async () => {
    const call = await replayBoth(cohereCitations);
    expect(call.outcome).toBe('completed');
    expect(call.response).toMatchObject({
      responseId: 'd6b9b5a4-5a5e-4b4b-9b7e-3c7f0c9e2f11',
      finishReasons: ['COMPLETE'],
      usage: { inputTokens: 31, outputTokens: 9 },
    });
    expect(call.response.error).toBeUndefined();
    expect(call.timing.firstOutput).toBeDefined();
  });

  it('citations and the debug prompt never enter captured content', async () => {
    const call = await replay(cohereCitations.exchange, 'whole', { captureContent: true });
    const output = JSON.stringify(call.content?.outputMessages);
    expect(output).toContain('The tallest penguins are emperor penguins.');
    expect(output).not.toContain('BOS_TOKEN');
    expect(output).not.toContain('Emperor penguins are the tallest.');
  });

  it('tool-plan-delta is the first output; the tool call is assembled from start + deltas; TOOL_CALL', async () => {
    const call = await replayBoth(cohereToolPlan);
    expect(call.outcome).toBe('completed');
    expect(call.response).toMatchObject({
      finishReasons: ['TOOL_CALL'],
      usage: { inputTokens: 37, outputTokens: 28 },
    });
    expect(call.timing.firstOutput).toBeDefined();
    const captured = await replay(cohereToolPlan.exchange, { size: 7 }, { captureContent: true });
    const [message] = (captured.content?.outputMessages ?? []) as { parts?: unknown[] }[];
    expect(message?.parts).toContainEqual({
      type: 'tool_call',
      id: 'get_weather_1byjy32y4hvq',
      name: 'get_weather',
      // Streamed arguments stay the text the deltas spelled (as for OpenAI and Anthropic streams).
      arguments: '{"location":"Toronto"}',
    });
  });

  it('a stream error (message-end delta.error, finish_reason ERROR) is errored with type ERROR', async () => {
    const call = await replayBoth(cohereStreamError);
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ERROR', midStream: true });
    expect(call.response.finishReasons).toEqual(['ERROR']);
  });
});

describe('vLLM/SGLang continuous_usage_stats', () => {
  it('usage on every chunk is cumulative: the last one is the call’s, never a sum', async () => {
    const call = await replayBoth(vllmContinuousUsage);
    // A sum over the chunks would give 0+1+2+3+3 = 9 output and 5 × 21 input.
    expect(call.response.usage).toMatchObject({ inputTokens: 21, outputTokens: 3 });
    expect(call.response.finishReasons).toEqual(['stop']);
    expect(call.outcome).toBe('completed');
  });

  it('a stream cut before the last chunk keeps no partial usage (incomplete)', async () => {
    const body = vllmContinuousUsage.exchange.body as string;
    const cut = await replay(vllmContinuousUsage.exchange, 'whole', { cutAfter: body.indexOf('"Hi"') + 10 });
    expect(cut.outcome).toBe('incomplete');
    expect(cut.response.usage.outputTokens).toBeUndefined();
  });
});

describe('xAI usage details (docs.x.ai consumption-and-rate-limits)', () => {
  it('reasoning tokens count into output (32 + 9 + 94 = 135): output 103, reasoning 94, cached 6', async () => {
    const call = await replayBoth(xaiReasoning);
    expect(call.provider).toBe('x_ai');
    expect(call.response.usage).toEqual({
      inputTokens: 32,
      outputTokens: 103,
      cacheReadInputTokens: 6,
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: 94,
    });
  });

  it('a stream with live-search sources: num_sources_used is tolerated, reasoning counted', async () => {
    const call = await replayBoth(xaiStreamLiveSearch);
    expect(call.outcome).toBe('completed');
    expect(call.response.usage).toMatchObject({
      inputTokens: 1410,
      outputTokens: 319,
      reasoningOutputTokens: 317,
    });
    expect(call.response.finishReasons).toEqual(['stop']);
  });

  it('an OpenAI body (reasoning inside completion_tokens, total = prompt + completion) is unchanged', async () => {
    const call = await replay({
      ...xaiReasoning.exchange,
      adapter: 'openai',
      body: JSON.stringify({
        id: 'chatcmpl-o',
        object: 'chat.completion',
        model: 'o4-mini-2025-04-16',
        choices: [{ index: 0, message: { role: 'assistant', content: '303' }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 20,
          completion_tokens: 300,
          total_tokens: 320,
          completion_tokens_details: { reasoning_tokens: 256 },
        },
      }),
    });
    expect(call.response.usage).toMatchObject({ outputTokens: 300, reasoningOutputTokens: 256 });
  });
});

describe('Ollama (ollama docs/api.md, OpenAI compatibility)', () => {
  it('/api/generate NDJSON: done_reason length, prompt_eval_count/eval_count, model from the lines', async () => {
    const call = await replayBoth(ollamaGenerateLength);
    expect(call.request).toMatchObject({ operation: 'text_completion', stream: true });
    expect(call.response).toMatchObject({
      responseModel: 'llama3.2',
      finishReasons: ['length'],
      usage: { inputTokens: 26, outputTokens: 2 },
    });
    expect(call.outcome).toBe('completed');
    expect(call.timing.firstOutput).toBeDefined();
  });

  it('/api/chat with stream:false: one JSON body', async () => {
    const call = await replayBoth(ollamaChatNonStream);
    expect(call.request.stream).toBe(false);
    expect(call.response).toMatchObject({
      finishReasons: ['stop'],
      usage: { inputTokens: 26, outputTokens: 298 },
    });
    expect(call.outcome).toBe('completed');
  });

  it('/v1/chat/completions: the OpenAI dialect, usage from the include_usage chunk', async () => {
    const call = await replayBoth(ollamaOpenAiCompatible);
    expect(call.provider).toBe('ollama');
    expect(call.response).toMatchObject({
      responseId: 'chatcmpl-417',
      finishReasons: ['stop'],
      usage: { inputTokens: 11, outputTokens: 2 },
    });
    expect(call.outcome).toBe('completed');
  });
});

describe('finish reasons that are not errors', () => {
  it('Anthropic stream ending in pause_turn: completed, usage from message_start + message_delta', async () => {
    const call = await replayBoth(anthropicPauseTurnStream);
    expect(call.outcome).toBe('completed');
    expect(call.response.error).toBeUndefined();
    expect(call.response).toMatchObject({
      finishReasons: ['pause_turn'],
      usage: { inputTokens: 2679, outputTokens: 41 },
    });
  });

  it('Gemini finishReason SAFETY in a JSON-array stream: finish reason and usage kept, not an error', async () => {
    const call = await replayBoth(geminiSafetyJsonArray);
    expect(call.outcome).toBe('completed');
    expect(call.response.error).toBeUndefined();
    expect(call.response).toMatchObject({
      responseId: 'gQ3uaJ2tL9mqz7IP8rK-mA4',
      finishReasons: ['SAFETY'],
      usage: { inputTokens: 9, outputTokens: 1 },
    });
  });
});

describe('mid-stream errors (documented exception events)', () => {
  it('OpenAI Responses response.failed: error.code is the type', async () => {
    const call = await replayBoth(openaiResponsesFailed);
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'server_error', midStream: true });
  });

  it('Bedrock ConverseStream modelStreamErrorException: the exception name as Bedrock’s API names it', async () => {
    const call = await replayBoth(bedrockModelStreamError);
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ModelStreamErrorException', midStream: true });
  });

  it('Bedrock InvokeModelWithResponseStream throttlingException: the same type as the HTTP 429', async () => {
    const call = await replayBoth(bedrockInvokeStreamThrottled);
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'ThrottlingException', midStream: true });
    expect(call.response.usage.inputTokens).toBe(12);
  });
});

describe('429/5xx error bodies (documented shapes)', () => {
  for (const fixture of httpErrors) {
    it(fixture.name, async () => {
      const call = await replayBoth(fixture);
      expect(call.httpStatus).toBe(fixture.exchange.status);
      expect(call.outcome).toBe('errored');
      expect(call.response.error).toEqual({ type: fixture.type, midStream: false });
      expect(call.response.usage.inputTokens).toBeUndefined();
    });
  }
});

describe('Gemini error chunk in the JSON-array stream (no alt=sse)', () => {
  it('an {"error":{…,"status"}} element after HTTP 200: errored with its status', async () => {
    const call = await replayBoth({
      ...geminiSafetyJsonArray,
      exchange: {
        ...geminiSafetyJsonArray.exchange,
        body: `[${JSON.stringify({
          candidates: [{ content: { role: 'model', parts: [{ text: 'Here' }] }, index: 0 }],
          modelVersion: 'gemini-2.5-flash',
          responseId: 'gQ3uaJ2tL9mqz7IP8rK-mA4',
        })}\r\n,${JSON.stringify({
          error: {
            code: 503,
            message: 'The model is overloaded. Please try again later.',
            status: 'UNAVAILABLE',
          },
        })}]`,
      },
    });
    expect(call.outcome).toBe('errored');
    expect(call.response.error).toEqual({ type: 'UNAVAILABLE', midStream: true });
  });
});
