/**
 * The realtime parsers on message sequences built from the providers' documented examples (not recordings):
 * OpenAI Realtime server/client events (platform.openai.com/docs/api-reference/realtime-server-events) and Gemini
 * Live BidiGenerateContent messages (ai.google.dev/api/live).
 */
import { describe, expect, it } from 'vitest';
import { geminiLive, openAiRealtime } from '../../providers/realtime.ts';
import type { RealtimeResponse, RequestTarget } from '../../src/adapter.ts';

const target = (path: string, query = ''): RequestTarget => ({
  method: 'GET',
  path,
  query: new URLSearchParams(query),
});
const msg = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe('OpenAI Realtime', () => {
  it('matches realtime paths only', () => {
    expect(openAiRealtime.matches(target('/v1/realtime'))).toBe(true);
    expect(openAiRealtime.matches(target('/openai/realtime'))).toBe(true);
    expect(openAiRealtime.matches(target('/v1/chat/completions'))).toBe(false);
  });

  it('error.type is a code, never the server free text (an error event or a failed response quoting a key)', () => {
    const parser = openAiRealtime.createParser(target('/v1/realtime', 'model=gpt-realtime'));
    const sentence = 'Incorrect API key provided: sk-proj-REALTIMECANARY123456';
    parser.clientMessage(msg({ type: 'response.create' }), 1);
    parser.serverMessage(msg({ type: 'response.created', response: { id: 'resp_a' } }), 2);
    parser.serverMessage(msg({ type: 'error', error: { code: sentence, type: 'invalid_request_error' } }), 3);
    const afterEvent = parser.serverMessage(
      msg({ type: 'response.done', response: { id: 'resp_a', status: 'failed' } }),
      4,
    );
    expect(afterEvent[0]?.error).toEqual({ type: 'invalid_request_error', midStream: true });
    parser.clientMessage(msg({ type: 'response.create' }), 5);
    parser.serverMessage(msg({ type: 'response.created', response: { id: 'resp_b' } }), 6);
    const failed = parser.serverMessage(
      msg({
        type: 'response.done',
        response: {
          id: 'resp_b',
          status: 'failed',
          status_details: { error: { type: sentence, code: sentence } },
        },
      }),
      7,
    );
    expect(failed[0]?.error).toEqual({ type: 'response_failed', midStream: true });
  });

  it('a failed response carries the error code; a cancelled one (barge-in) is no error', () => {
    const parser = openAiRealtime.createParser(
      target('/openai/realtime', 'api-version=2025-04-01-preview&deployment=gpt-4o-realtime'),
    );
    parser.serverMessage(
      msg({
        type: 'session.created',
        session: { id: 'sess_1', model: 'gpt-4o-realtime-preview-2024-12-17' },
      }),
      1,
    );
    parser.clientMessage(msg({ type: 'response.create' }), 2);
    parser.serverMessage(
      msg({ type: 'response.created', response: { id: 'resp_a', status: 'in_progress' } }),
      3,
    );
    parser.serverMessage(msg({ type: 'response.output_text.delta', response_id: 'resp_a', delta: 'Hi' }), 4);
    const failed = parser.serverMessage(
      msg({
        type: 'response.done',
        response: {
          id: 'resp_a',
          status: 'failed',
          status_details: { type: 'failed', error: { type: 'server_error', code: 'rate_limit_exceeded' } },
          usage: { input_tokens: 10, output_tokens: 1, total_tokens: 11 },
        },
      }),
      5,
    );
    expect(failed[0]).toMatchObject({
      responseId: 'resp_a',
      outcome: 'errored',
      error: { type: 'rate_limit_exceeded', midStream: true },
      start: 2,
      serverStart: 3,
      firstOutput: 4,
      end: 5,
      outputChunks: 1,
    });
    expect(parser.session).toEqual({
      sessionId: 'sess_1',
      requestModel: 'gpt-4o-realtime',
      responseModel: 'gpt-4o-realtime-preview-2024-12-17',
    });
    // Server VAD starts a response with no response.create; the user talks over it.
    parser.serverMessage(msg({ type: 'response.created', response: { id: 'resp_b' } }), 6);
    const cancelled = parser.serverMessage(
      msg({
        type: 'response.done',
        response: {
          id: 'resp_b',
          status: 'cancelled',
          status_details: { type: 'cancelled', reason: 'turn_detected' },
          usage: { input_tokens: 5, output_tokens: 2 },
        },
      }),
      7,
    );
    expect(cancelled[0]).toMatchObject({ outcome: 'completed', finishReasons: ['turn_detected'], start: 6 });
    expect(cancelled[0]?.error).toBeUndefined();
  });

  it('an open response at close ends incomplete, without usage', () => {
    const parser = openAiRealtime.createParser(target('/v1/realtime', 'model=gpt-realtime'));
    parser.clientMessage(msg({ type: 'response.create' }), 1);
    parser.serverMessage(msg({ type: 'response.created', response: { id: 'resp_x' } }), 2);
    const ended = parser.end(9);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ responseId: 'resp_x', outcome: 'incomplete', end: 9 });
    expect(ended[0]?.usage.inputTokens).toBeUndefined();
  });
});

describe('Gemini Live', () => {
  const setup = msg({
    setup: {
      model: 'models/gemini-live-2.5-flash-preview',
      generationConfig: { responseModalities: ['AUDIO'] },
    },
  });
  const audio = (n: number) =>
    msg({
      serverContent: {
        modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 'A'.repeat(n) } }] },
      },
    });
  const usage = {
    promptTokenCount: 25,
    responseTokenCount: 180,
    totalTokenCount: 205,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 25 }],
    responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 180 }],
  };

  it('one response per turn, usage from the turn-complete message', () => {
    const parser = geminiLive.createParser(
      target('/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'),
    );
    parser.clientMessage(setup, 1);
    parser.serverMessage(msg({ setupComplete: {} }), 2);
    parser.clientMessage(
      msg({ clientContent: { turns: [{ role: 'user', parts: [{ text: 'Hello' }] }], turnComplete: true } }),
      3,
    );
    expect(parser.serverMessage(audio(2000), 4)).toEqual([]);
    expect(parser.serverMessage(audio(100_000), 5)).toEqual([]);
    parser.serverMessage(msg({ serverContent: { generationComplete: true } }), 6);
    const [turn] = parser.serverMessage(
      msg({ serverContent: { turnComplete: true }, usageMetadata: usage }),
      7,
    );
    expect(turn).toMatchObject<Partial<RealtimeResponse>>({
      outcome: 'completed',
      start: 3,
      firstOutput: 4,
      end: 7,
      outputChunks: 2,
      finishReasons: ['turn_complete'],
      details: { 'llmtap.usage.input_text_tokens': 25, 'llmtap.usage.output_audio_tokens': 180 },
    });
    expect(turn?.usage).toMatchObject({ inputTokens: 25, outputTokens: 180 });
    expect(parser.session.requestModel).toBe('gemini-live-2.5-flash-preview');
  });

  it('usage in the message after turnComplete still belongs to that turn; an interrupted turn is incomplete', () => {
    const parser = geminiLive.createParser(target('/ws/x.BidiGenerateContent'));
    parser.clientMessage(setup, 1);
    parser.serverMessage(audio(10), 2);
    expect(parser.serverMessage(msg({ serverContent: { turnComplete: true } }), 3)).toEqual([]);
    const [first] = parser.serverMessage(msg({ usageMetadata: usage }), 4);
    expect(first).toMatchObject({ outcome: 'completed', end: 3 });
    expect(first?.usage.outputTokens).toBe(180);
    parser.serverMessage(audio(10), 5);
    parser.serverMessage(msg({ serverContent: { interrupted: true } }), 6);
    const [second] = parser.serverMessage(
      msg({
        serverContent: { turnComplete: true },
        usageMetadata: { promptTokenCount: 3, responseTokenCount: 1 },
      }),
      7,
    );
    expect(second).toMatchObject({ outcome: 'incomplete', finishReasons: ['interrupted'] });
    expect(parser.end(8)).toEqual([]);
  });
});
