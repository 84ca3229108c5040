/**
 * What llmtap exports read with the conventions' meaning, through the whole product: one
 * `time_per_output_chunk` sample per output chunk after the first (a paced upstream on a fake clock), and
 * the OTLP value type the conventions define for every numeric attribute — double for integral doubles.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
const chunk = (content: string) =>
  sse({
    id: 'chatcmpl-paced',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  });
const last = `${sse({
  id: 'chatcmpl-paced',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
})}${sse({
  id: 'chatcmpl-paced',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
})}data: [DONE]\n\n`;

/** Gaps (ms) the fake clock moves between output chunks: one in (0, 0.01], one in (0.02, 0.04], one in (0.16, 0.32]. */
const gapsMs = [5, 30, 240];
const words = ['one', ' two', ' three', ' four'];

let upstream: Upstream;
let receiver: OtlpReceiver;
let app: TestLlmtap;
/** Resolves the upstream's wait before its next output chunk. */
let releaseNext: (() => void) | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startUpstream(async (req, res) => {
    const body = JSON.parse(req.body.toString()) as { stream?: boolean };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-json',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const [index, word] of words.entries()) {
      if (index > 0) await new Promise<void>((resolve) => (releaseNext = resolve));
      res.write(chunk(word));
    }
    res.end(last);
  });
  app = await startFullLlmtap(
    { routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }] },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      LLMTAP_PODINFO_DIR: '/nonexistent',
    },
  );
  await pacedStream();
  // Integral values of double-typed attributes, a fractional one, and int-typed ones beside them.
  await post({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    temperature: 1,
    top_p: 0.5,
    frequency_penalty: -2,
    presence_penalty: 0,
    max_tokens: 64,
    seed: 7,
  });
  await receiver.waitFor(() => app.requestLogs().length === 2, 5000, 'two request log lines');
  await app.shutdown();
});

afterAll(async () => {
  await upstream.close();
  await receiver.close();
});

/** POSTs a chat request through llmtap; `onData` sees each piece of the answer as the client reads it. */
const post = (body: unknown, onData: (text: string) => void = () => undefined): Promise<string> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${app.server.dataUrl}/openai/v1/chat/completions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => {
          text += piece;
          onData(piece);
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });

let chunksSeen = 0;
let streamText = '';

/**
 * Only llmtap's clock is fake: sockets and timers run as usual, and every gap between two output chunks
 * is exactly what the test advances, however busy the machine is.
 */
const pacedStream = async (): Promise<void> => {
  vi.useFakeTimers({ toFake: ['performance'] });
  try {
    streamText = await post(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count' }] },
      (piece) => {
        const chunks = piece.split('"content":"').length - 1;
        for (let i = 0; i < chunks; i++) {
          const gap = gapsMs[chunksSeen];
          chunksSeen += 1;
          if (gap === undefined) continue;
          // The client has this chunk, so llmtap stamped it already: move the clock, then send the next.
          vi.advanceTimersByTime(gap);
          releaseNext?.();
        }
      },
    );
  } finally {
    vi.useRealTimers();
  }
};

describe('time per output chunk', () => {
  it('records one sample per output chunk after the first, each in the bucket of its own gap', () => {
    expect(chunksSeen).toBe(words.length);
    expect(streamText).toContain('[DONE]');
    const tpoc = receiver.metrics.find((m) => m.name === 'gen_ai.client.operation.time_per_output_chunk');
    expect(tpoc?.points).toHaveLength(1);
    const point = tpoc?.points[0];
    expect(point?.count).toBe(words.length - 1);
    expect(point?.sum).toBeCloseTo(0.275, 9);
    expect(point?.min).toBeCloseTo(0.005, 9);
    expect(point?.max).toBeCloseTo(0.24, 9);
    // The semconv boundaries, literally (not the constant under test).
    expect(point?.explicitBounds).toEqual([
      0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ]);
    // Buckets (0, 0.01], (0.02, 0.04] and (0.16, 0.32]: indexes 0, 2 and 5.
    expect(point?.bucketCounts).toEqual([1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('attribute value types', () => {
  it('sends double-typed attributes as double_value even when integral, int-typed ones as int_value', () => {
    const span = receiver.spans.find((s) => s.attributes['gen_ai.request.temperature'] !== undefined);
    expect(span).toBeDefined();
    expect(span?.attributes).toMatchObject({
      'gen_ai.request.temperature': 1,
      'gen_ai.request.top_p': 0.5,
      'gen_ai.request.frequency_penalty': -2,
      'gen_ai.request.presence_penalty': 0,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.seed': 7,
      'gen_ai.usage.input_tokens': 5,
    });
    expect(span?.attributeTypes).toMatchObject({
      'gen_ai.request.temperature': 'double_value',
      'gen_ai.request.top_p': 'double_value',
      'gen_ai.request.frequency_penalty': 'double_value',
      'gen_ai.request.presence_penalty': 'double_value',
      'gen_ai.request.max_tokens': 'int_value',
      'gen_ai.request.seed': 'int_value',
      'gen_ai.usage.input_tokens': 'int_value',
      'gen_ai.usage.output_tokens': 'int_value',
      'server.port': 'int_value',
    });
    // The streamed call's time to first chunk is a double too (0 on the fake clock: integral).
    const streamed = receiver.spans.find((s) => s.attributes['gen_ai.request.stream'] === true);
    expect(streamed?.attributeTypes['gen_ai.response.time_to_first_chunk']).toBe('double_value');
  });
});
