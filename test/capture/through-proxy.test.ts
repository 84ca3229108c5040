/**
 * The capture tap on real traffic: real SDK clients (openai, @anthropic-ai/sdk, @google/genai) and curl-like
 * raw HTTP talk to the real proxy, whose upstream on 127.0.0.1 replays recorded streams in odd-sized writes,
 * optionally gzip/br-compressed. The record the tap builds from that network chunking must equal the one
 * built offline from the whole recorded body, and the client must get the stream intact.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import zlib from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { TelemetryStage } from '../../src/call-observer.ts';
import { createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { limitsSchema } from '../../src/config/schema.ts';
import type { LlmCall } from '../../src/record.ts';
import { rawRequest } from '../helpers/client.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { loadRecordedFixtures, type RecordedFixture, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { replayFixture, seededRandom } from './drive-tap.ts';

const fixtures = new Map(loadRecordedFixtures().map((f) => [f.file, f]));
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.get(file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

/** Which recorded stream the fake upstream answers with, by request path. */
const byPath: [RegExp, string][] = [
  [/chat\/completions$/, 'openai/chat_stream_include_usage.json'],
  [/\/v1\/messages$/, 'anthropic/messages_stream.json'],
  [/:streamGenerateContent$/, 'gemini/stream_generate_content.json'],
  [/\/api\/chat$/, 'ollama/chat_stream_ndjson.json'],
];

const calls: LlmCall[] = [];
const errors: { stage: TelemetryStage; error: unknown }[] = [];
let upstream: Upstream;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startUpstream(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = byPath.find(([pattern]) => pattern.test(path))?.[1];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    const recorded = fixture(file);
    const encoding = req.headers['x-test-encoding'];
    let body = wireBody(recorded);
    const headers: Record<string, string> = {
      'content-type': recorded.response.headers['content-type'] ?? 'text/plain',
    };
    // Stacked codings (`gzip, br`) are applied in the order listed, as RFC 9110 §8.4 reads the header.
    for (const coding of typeof encoding === 'string' ? encoding.split(',') : []) {
      if (coding.trim() === 'gzip') body = zlib.gzipSync(body);
      if (coding.trim() === 'br') body = zlib.brotliCompressSync(body);
    }
    if (typeof encoding === 'string') headers['content-encoding'] = encoding;
    res.writeHead(recorded.response.status, headers);
    const cutAt = Number(req.headers['x-test-cut'] ?? Number.NaN);
    if (Number.isFinite(cutAt)) {
      // The upstream dies mid-stream: the bytes before the cut, then a reset.
      res.write(body.subarray(0, cutAt));
      await nextTurn();
      res.destroy();
      return;
    }
    // Odd-sized writes on separate turns, so the proxy sees many network chunks split mid-event.
    const random = seededRandom(body.length);
    for (let offset = 0; offset < body.length; ) {
      const size = 1 + Math.floor(random() * 97);
      res.write(body.subarray(offset, offset + size));
      offset += size;
      await nextTurn();
    }
    res.end();
  });
  const limits = limitsSchema.parse({});
  proxy = await startTestProxy(
    {
      routes: [
        { prefix: '/openai', provider: 'openai', upstream: upstream.url },
        { prefix: '/anthropic', provider: 'anthropic', upstream: upstream.url },
        { prefix: '/gemini', provider: 'gemini', upstream: upstream.url },
        { prefix: '/ollama', provider: 'ollama', upstream: upstream.url },
      ],
    },
    {
      tapFactory: createCaptureTapFactory({
        adapterFor: (route) => adapterById(route.provider),
        observer: { start: () => ({ finish: (call) => void calls.push(call) }) },
        limits,
        parseOptions: { captureContent: false, maxCapturedChars: limits.maxCapturedChars },
        onError: (stage, error) => errors.push({ stage, error }),
      }),
    },
  );
});

afterAll(async () => {
  await proxy?.drain(1000);
  await upstream?.close();
});

const adapter = (id: string): ProviderAdapter => {
  const found = adapterById(id);
  if (found === undefined) throw new Error(`no adapter ${id}`);
  return found;
};

/** The record for the call just made (the tap finishes after the client saw the end, so poll briefly). */
const nextCall = async (count: number): Promise<LlmCall> => {
  await expect.poll(() => calls.length, { timeout: 30_000, interval: 10 }).toBe(count);
  return calls[count - 1] as LlmCall;
};

/** What the offline replay of the whole recorded body says, for the facts that do not depend on the request. */
const offline = async (file: string, adapterId: string) => {
  const { call } = await replayFixture(fixture(file), adapter(adapterId), 'whole');
  return {
    response: call.response,
    outcome: call.outcome,
    outputChunks: call.outputChunks,
    truncated: call.truncated,
  };
};

const checkTiming = (call: LlmCall): void => {
  const t = call.timing;
  expect(t.upstreamRequestSent).toBeGreaterThanOrEqual(t.start);
  expect(t.upstreamFirstByte).toBeGreaterThanOrEqual(t.upstreamRequestSent ?? Number.NaN);
  expect(t.firstOutput).toBeGreaterThanOrEqual(t.upstreamFirstByte ?? Number.NaN);
  expect(t.end).toBeGreaterThanOrEqual(t.firstOutput ?? Number.NaN);
};

describe('capture through the proxy with real clients', () => {
  it('openai SDK, gzip-compressed SSE split across many network chunks', async () => {
    const client = new OpenAI({
      apiKey: 'sk-test-capture-0000',
      baseURL: `${proxy.dataUrl}/openai/v1`,
      defaultHeaders: { 'x-test-encoding': 'gzip' },
      maxRetries: 0,
    });
    const stream = await client.chat.completions.create({
      model: 'gpt-3.5-turbo',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    const call = await nextCall(1);
    expect(call).toMatchObject(await offline('openai/chat_stream_include_usage.json', 'openai'));
    expect(call.response.usage.inputTokens).toBe(18);
    expect(call.request.requestModel).toBe('gpt-3.5-turbo');
    expect(call.serverAddress).toBe('127.0.0.1');
    checkTiming(call);
  });

  it('anthropic SDK, brotli-compressed SSE', async () => {
    const client = new Anthropic({
      apiKey: 'sk-ant-test-capture',
      baseURL: `${proxy.dataUrl}/anthropic`,
      defaultHeaders: { 'x-test-encoding': 'br' },
      maxRetries: 0,
    });
    const stream = client.messages.stream({
      model: 'claude-3-haiku-20240307',
      max_tokens: 300,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const message = await stream.finalMessage();
    expect(message.usage.output_tokens).toBe(171);
    const call = await nextCall(2);
    expect(call).toMatchObject(await offline('anthropic/messages_stream.json', 'anthropic'));
    expect(call.response.usage).toMatchObject({ inputTokens: 17, outputTokens: 171 });
    checkTiming(call);
  });

  it('@google/genai SDK, plain SSE', async () => {
    const client = new GoogleGenAI({
      apiKey: 'test-capture-key',
      httpOptions: { baseUrl: `${proxy.dataUrl}/gemini` },
    });
    const stream = await client.models.generateContentStream({
      model: 'gemini-2.0-flash-exp',
      contents: 'hi',
    });
    let chunks = 0;
    for await (const _chunk of stream) chunks += 1;
    expect(chunks).toBe(3);
    const call = await nextCall(3);
    expect(call).toMatchObject(await offline('gemini/stream_generate_content.json', 'gemini'));
    expect(call.request.requestModel).toBe('gemini-2.0-flash-exp');
    checkTiming(call);
  });

  it('raw HTTP client, gzip-compressed Ollama NDJSON', async () => {
    const recorded = fixture('ollama/chat_stream_ndjson.json');
    const response = await rawRequest(`${proxy.dataUrl}/ollama/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-encoding': 'gzip', 'accept-encoding': 'gzip' },
      body: recorded.request.body ?? '',
    });
    // The client gets the compressed bytes untouched; they decode to the recorded stream.
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(response.body).equals(wireBody(recorded))).toBe(true);
    const call = await nextCall(4);
    expect(call).toMatchObject(await offline('ollama/chat_stream_ndjson.json', 'ollama'));
    expect(call.response.usage).toMatchObject({ inputTokens: 17, outputTokens: 50 });
    checkTiming(call);
  });

  it('an upstream reset mid-stream: the client sees the failure, the record is incomplete with no invented usage', async () => {
    const recorded = fixture('openai/chat_stream_include_usage.json');
    const cut = Math.floor(wireBody(recorded).length / 2);
    const client = new OpenAI({
      apiKey: 'sk-test-capture-0000',
      baseURL: `${proxy.dataUrl}/openai/v1`,
      defaultHeaders: { 'x-test-cut': String(cut) },
      maxRetries: 0,
    });
    const consume = async (): Promise<number> => {
      const stream = await client.chat.completions.create({
        model: 'gpt-3.5-turbo',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      let chunks = 0;
      for await (const _chunk of stream) chunks += 1;
      return chunks;
    };
    await expect(consume()).rejects.toThrow();
    const call = await nextCall(5);
    expect(call.outcome).toBe('incomplete');
    expect(call.transportError).toBeDefined();
    expect(call.truncated).toBe(false);
    expect(call.response.usage.inputTokens).toBeUndefined();
    expect(call.response.usage.outputTokens).toBeUndefined();
    expect(call.outputChunks).toBeGreaterThan(0);
  });

  it('raw HTTP client, stacked `gzip, br` SSE: the client gets the bytes as sent, the copy decodes both', async () => {
    const recorded = fixture('openai/chat_stream_include_usage.json');
    const response = await rawRequest(`${proxy.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-encoding': 'gzip, br' },
      body: recorded.request.body ?? '',
    });
    expect(response.headers['content-encoding']).toBe('gzip, br');
    expect(zlib.gunzipSync(zlib.brotliDecompressSync(response.body)).equals(wireBody(recorded))).toBe(true);
    const call = await nextCall(6);
    expect(call).toMatchObject(await offline('openai/chat_stream_include_usage.json', 'openai'));
    expect(call.response.usage.outputTokens).toBe(recorded.expected.output_tokens);
    checkTiming(call);
  });

  it('reported no capture errors', () => {
    expect(errors).toEqual([]);
  });
});
