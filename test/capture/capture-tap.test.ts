import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { CallObserver, TelemetryStage } from '../../src/call-observer.ts';
import { type CaptureTapOptions, createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { type Limits, limitsSchema, type RouteConfig } from '../../src/config/schema.ts';
import type { CallContext, CallTap } from '../../src/proxy/tap.ts';
import type { LlmCall } from '../../src/record.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { type Chunking, replayFixture, splitBytes } from './drive-tap.ts';
import { createFakeAdapter, type FakeHooks } from './fake-adapter.ts';

const route: RouteConfig = { prefix: '/fake', provider: 'fake', upstream: 'https://api.fake.test' };

const context = (overrides: Partial<CallContext> = {}): CallContext => {
  const upstreamUrl = overrides.upstreamUrl ?? new URL('https://api.fake.test/v1/chat');
  return {
    route,
    target: { method: 'POST', path: upstreamUrl.pathname, query: upstreamUrl.searchParams },
    upstreamUrl,
    requestHeaders: {},
    start: 100,
    ...overrides,
  };
};

interface Harness {
  readonly calls: LlmCall[];
  readonly errors: { stage: TelemetryStage; error: unknown }[];
  readonly started: CallContext[];
  open(ctx?: CallContext): CallTap;
  factoryOptions: CaptureTapOptions;
}

const harness = (
  adapter: ProviderAdapter,
  options: { limits?: Partial<Limits>; observer?: Partial<CallObserver>; captureContent?: boolean } = {},
): Harness => {
  const calls: LlmCall[] = [];
  const errors: { stage: TelemetryStage; error: unknown }[] = [];
  const started: CallContext[] = [];
  const observer: CallObserver = {
    start: (ctx) => {
      started.push(ctx);
      return {
        upstreamHeaders: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        finish: (call) => {
          calls.push(call);
          return { model: call.response.responseModel };
        },
      };
    },
    ...options.observer,
  };
  const factoryOptions: CaptureTapOptions = {
    adapterFor: (r) => (r.provider === adapter.id ? adapter : undefined),
    observer,
    limits: { ...limitsSchema.parse({}), ...options.limits },
    parseOptions: { captureContent: options.captureContent ?? false, maxCapturedChars: 1000 },
    onError: (stage, error) => errors.push({ stage, error }),
  };
  const factory = createCaptureTapFactory(factoryOptions);
  return {
    calls,
    errors,
    started,
    factoryOptions,
    open(ctx = context()) {
      const tap = factory.open(ctx);
      if (tap === undefined) throw new Error('expected a tap');
      return tap;
    },
  };
};

const sseBody = [
  ': keep-alive comment\n\n',
  'data: {"model":"fake-1"}\n\n',
  'data: {"text":"Hel"}\n\n',
  'data: {"text":"lo ✓"}\n\n',
  'data: {"input":7,"output":2}\n\n',
  'data: {"done":true}\n\n',
].join('');
const sseHeaders = { 'content-type': 'text/event-stream' };
const requestJson = '{"model":"fake-req","stream":true,"prompt":"hi"}';

/** Runs one whole call through a tap; chunk i of the response is stamped at 1000 + i. */
const runCall = async (
  h: Harness,
  options: {
    request?: Uint8Array;
    status?: number;
    headers?: Record<string, string>;
    body?: Uint8Array;
    chunking?: Chunking;
    complete?: boolean;
    transportError?: string;
    ctx?: CallContext;
  } = {},
): Promise<{ call: LlmCall | undefined; fields: unknown }> => {
  const tap = h.open(options.ctx);
  tap.requestBody(options.request ?? Buffer.from(requestJson));
  tap.requestEnd();
  tap.upstreamRequestSent(150);
  tap.responseHead(options.status ?? 200, options.headers ?? sseHeaders, 200);
  const chunks = splitBytes(options.body ?? Buffer.from(sseBody), options.chunking ?? 'whole');
  chunks.forEach((chunk, i) => {
    tap.responseBody(chunk, 1000 + i);
  });
  tap.clientFirstByte(210);
  const fields = await tap.end({
    at: 9000,
    complete: options.complete ?? true,
    copyTruncated: false,
    ...(options.transportError === undefined ? {} : { transportError: options.transportError }),
  });
  return { call: h.calls.at(-1), fields };
};

describe('capture tap: open', () => {
  it('opens no tap and starts no observation for a request the adapter says is not an LLM call', () => {
    const h = harness(createFakeAdapter());
    const factory = createCaptureTapFactory(h.factoryOptions);
    const models = new URL('https://api.fake.test/v1/models');
    expect(
      factory.open(
        context({
          upstreamUrl: models,
          target: { method: 'GET', path: '/v1/models', query: models.searchParams },
        }),
      ),
    ).toBeUndefined();
    expect(factory.open(context({ route: { ...route, provider: 'other' } }))).toBeUndefined();
    expect(h.started).toHaveLength(0);
  });

  it('exposes the observation’s upstream headers', () => {
    const h = harness(createFakeAdapter());
    expect(h.open().upstreamHeaders?.traceparent).toMatch(/^00-/);
  });
});

describe('capture tap: a streamed call', () => {
  it('builds the full record from an SSE stream', async () => {
    const h = harness(createFakeAdapter());
    const { call, fields } = await runCall(h, { chunking: { size: 24 } });
    expect(call).toMatchObject({
      adapterId: 'fake',
      provider: 'fake.provider',
      routePrefix: '/fake',
      request: { operation: 'chat', requestModel: 'fake-req', stream: true, params: {} },
      response: {
        responseModel: 'fake-1',
        usage: { inputTokens: 7, outputTokens: 2, cacheReadInputTokens: undefined },
        finishReasons: ['stop'],
        error: undefined,
      },
      outcome: 'completed',
      httpStatus: 200,
      transportError: undefined,
      serverAddress: 'api.fake.test',
      serverPort: 443,
      outputChunks: 2,
      truncated: false,
    });
    // 24-byte chunks: the first `text` event ends inside chunk 2 (bytes 48..71), so that chunk's stamp.
    const firstTextEnd = sseBody.indexOf('data: {"text":"Hel"}\n\n') + 'data: {"text":"Hel"}\n\n'.length;
    expect(call?.timing).toEqual({
      start: 100,
      upstreamRequestSent: 150,
      upstreamFirstByte: 200,
      clientFirstByte: 210,
      firstOutput: 1000 + Math.floor((firstTextEnd - 1) / 24),
      end: 9000,
    });
    expect(fields).toEqual({ model: 'fake-1' });
    expect(h.errors).toEqual([]);
  });

  it('gives the same facts for whole, 1-byte and random chunkings', async () => {
    const records: unknown[] = [];
    for (const chunking of ['whole', 'byte', { random: 7 }, { random: 99, maxChunk: 5 }] as Chunking[]) {
      const h = harness(createFakeAdapter());
      const { call } = await runCall(h, { chunking });
      const { timing: _timing, ...facts } = call as LlmCall;
      records.push(facts);
    }
    expect(records[1]).toEqual(records[0]);
    expect(records[2]).toEqual(records[0]);
    expect(records[3]).toEqual(records[0]);
  });

  it('uses the route’s provider name override and the URL’s explicit port', async () => {
    const upstreamUrl = new URL('http://[::1]:8080/v1/chat');
    const h = harness(createFakeAdapter());
    const { call } = await runCall(h, {
      ctx: context({ route: { ...route, providerName: 'vllm' }, upstreamUrl }),
    });
    expect(call).toMatchObject({ provider: 'vllm', serverAddress: '::1', serverPort: 8080 });
    const plain = await runCall(harness(createFakeAdapter()), {
      ctx: context({ upstreamUrl: new URL('http://localhost/v1/chat') }),
    });
    expect(plain.call).toMatchObject({ serverAddress: 'localhost', serverPort: 80 });
  });

  it('marks a cut stream incomplete and keeps only the usage it saw', async () => {
    const h = harness(createFakeAdapter());
    const body = Buffer.from(sseBody);
    const cutAt = sseBody.indexOf('data: {"input"');
    const { call } = await runCall(h, {
      body: body.subarray(0, cutAt + 10),
      complete: false,
      transportError: 'UND_ERR_SOCKET',
    });
    expect(call?.outcome).toBe('incomplete');
    // Cut by the transport, not by a capture limit: incomplete, but the copy itself is whole.
    expect(call?.truncated).toBe(false);
    expect(call?.transportError).toBe('UND_ERR_SOCKET');
    expect(call?.response.usage.inputTokens).toBeUndefined();
    expect(call?.response.usage.outputTokens).toBeUndefined();
    expect(call?.outputChunks).toBe(2);
  });

  it('is incomplete when the transport failed even though the terminal event arrived', async () => {
    const h = harness(createFakeAdapter());
    const { call } = await runCall(h, { complete: false, transportError: 'CLIENT_ABORTED' });
    expect(call?.outcome).toBe('incomplete');
    expect(call?.response.usage.inputTokens).toBe(7);
  });

  it('marks a provider error as errored, also mid-stream', async () => {
    const h = harness(createFakeAdapter());
    const mid = await runCall(h, {
      body: Buffer.from('data: {"text":"a"}\n\ndata: {"error":"overloaded"}\n\n'),
    });
    expect(mid.call).toMatchObject({
      outcome: 'errored',
      response: { error: { type: 'overloaded', midStream: true } },
    });
    const status = await runCall(h, {
      status: 429,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"error":"rate_limited"}'),
    });
    expect(status.call).toMatchObject({
      outcome: 'errored',
      httpStatus: 429,
      response: { error: { type: 'rate_limited' } },
    });
  });

  it('records a call that got no response at all', async () => {
    const h = harness(createFakeAdapter());
    const tap = h.open();
    tap.requestBody(Buffer.from(requestJson));
    tap.requestEnd();
    await tap.end({ at: 500, complete: false, copyTruncated: false, transportError: 'ECONNREFUSED' });
    expect(h.calls[0]).toMatchObject({
      outcome: 'incomplete',
      httpStatus: undefined,
      transportError: 'ECONNREFUSED',
      request: { requestModel: 'fake-req' },
      response: { responseModel: undefined, finishReasons: [] },
      timing: { upstreamFirstByte: undefined, firstOutput: undefined, end: 500 },
    });
    expect(h.errors).toEqual([]);
  });

  it('merges captured content from request and response only when opted in', async () => {
    const on = await runCall(harness(createFakeAdapter(), { captureContent: true }));
    expect(on.call?.content).toEqual({ inputMessages: ['hi'], outputMessages: ['Hello ✓'] });
    const off = await runCall(harness(createFakeAdapter()));
    expect(off.call).not.toHaveProperty('content');
  });
});

describe('capture tap: request copy', () => {
  it('parses the request when the head arrives before the body ended, then re-reads the whole body', async () => {
    const bodies: unknown[] = [];
    const h = harness(createFakeAdapter({ bodies }));
    const tap = h.open();
    tap.requestBody(Buffer.from(requestJson.slice(0, 10)));
    tap.responseHead(200, sseHeaders, 200);
    tap.requestBody(Buffer.from(requestJson.slice(10)));
    tap.requestEnd();
    tap.responseBody(Buffer.from(sseBody), 300);
    await tap.end({ at: 400, complete: true, copyTruncated: false });
    expect(bodies).toEqual([undefined, { model: 'fake-req', stream: true, prompt: 'hi' }]);
    expect(h.calls[0]?.request.requestModel).toBe('fake-req');
  });

  it('reads only the members complete before maxFrameBytes cut the request copy, and marks the call truncated', async () => {
    const bodies: unknown[] = [];
    const h = harness(createFakeAdapter({ bodies }), { limits: { maxFrameBytes: 32 } });
    // The first 32 bytes: {"model":"fake-req","stream":tr — `stream` is cut, so it is not claimed.
    const { call } = await runCall(h, { request: Buffer.from(requestJson), chunking: 'byte' });
    expect(bodies).toEqual([{ model: 'fake-req' }]);
    expect(call?.request).toMatchObject({ requestModel: 'fake-req', stream: false });
    expect(call?.truncated).toBe(true);
  });

  it('decodes a gzip-compressed request body', async () => {
    const bodies: unknown[] = [];
    const h = harness(createFakeAdapter({ bodies }));
    const { call } = await runCall(h, {
      request: gzipSync(requestJson),
      ctx: context({ requestHeaders: { 'content-encoding': 'gzip' } }),
    });
    expect(call?.request.requestModel).toBe('fake-req');
    expect(call?.truncated).toBe(false);
  });

  it('hands the adapter undefined for a body that is not JSON', async () => {
    const bodies: unknown[] = [];
    const h = harness(createFakeAdapter({ bodies }));
    const { call } = await runCall(h, { request: Buffer.from('model=x&stream=true') });
    expect(bodies).toEqual([undefined]);
    expect(call?.request).toMatchObject({ operation: 'chat', requestModel: undefined });
  });
});

describe('capture tap: compressed responses', () => {
  it('decodes a gzip SSE stream split at random and awaits the decoder in end()', async () => {
    const h = harness(createFakeAdapter());
    const tap = h.open();
    tap.requestBody(Buffer.from(requestJson));
    tap.requestEnd();
    tap.responseHead(200, { ...sseHeaders, 'content-encoding': 'gzip' }, 200);
    for (const chunk of splitBytes(gzipSync(sseBody), { random: 3, maxChunk: 9 }))
      tap.responseBody(chunk, 300);
    const ended = tap.end({ at: 400, complete: true, copyTruncated: false });
    expect(ended).toBeInstanceOf(Promise);
    expect(await ended).toEqual({ model: 'fake-1' });
    expect(h.calls[0]).toMatchObject({ outcome: 'completed', outputChunks: 2, truncated: false });
    expect(h.errors).toEqual([]);
  });

  it('does not parse an unknown content-encoding: one decode error, a truncated record', async () => {
    const frames: string[] = [];
    const h = harness(createFakeAdapter({ frames }));
    const { call } = await runCall(h, { headers: { ...sseHeaders, 'content-encoding': 'compress' } });
    expect(frames).toEqual([]);
    expect(h.errors.map((e) => e.stage)).toEqual(['decode']);
    expect(h.errors[0]?.error).toMatchObject({ code: 'UNSUPPORTED_CONTENT_ENCODING' });
    expect(call).toMatchObject({ truncated: true, outcome: 'incomplete', httpStatus: 200 });
  });

  it('stops at maxDecodedBytes and marks the call truncated', async () => {
    const h = harness(createFakeAdapter(), { limits: { maxDecodedBytes: 60 } });
    const { call } = await runCall(h);
    expect(call).toMatchObject({
      truncated: true,
      outcome: 'incomplete',
      response: { responseModel: 'fake-1' },
    });
  });
});

describe('capture tap: fail-open', () => {
  const stages: [NonNullable<FakeHooks['throwIn']>, TelemetryStage][] = [
    ['parseRequest', 'parse'],
    ['framing', 'parse'],
    ['createParser', 'parse'],
    ['push', 'parse'],
    ['finish', 'parse'],
  ];
  for (const [throwIn, stage] of stages) {
    it(`an adapter throwing in ${throwIn}: no throw, one ${stage} error, the observer still gets a truncated record`, async () => {
      const h = harness(createFakeAdapter({ throwIn, throwFromFrame: 2 }));
      const { call } = await runCall(h, { chunking: 'byte' });
      expect(h.errors).toHaveLength(1);
      expect(h.errors[0]?.stage).toBe(stage);
      expect(h.calls).toHaveLength(1);
      expect(call?.truncated).toBe(true);
      expect(call?.outcome).not.toBe('completed');
      expect(call?.httpStatus).toBe(200);
    });
  }

  it('stops decompressing once the parser failed, and still finishes the call', async () => {
    const frames: string[] = [];
    const h = harness(createFakeAdapter({ throwIn: 'push', throwFromFrame: 2, frames }));
    const { call, fields } = await runCall(h, {
      headers: { ...sseHeaders, 'content-encoding': 'gzip' },
      body: gzipSync(sseBody),
      chunking: { size: 7 },
    });
    expect(frames).toHaveLength(2);
    expect(h.errors.map((e) => e.stage)).toEqual(['parse']);
    expect(call).toMatchObject({
      truncated: true,
      outcome: 'incomplete',
      response: { responseModel: 'fake-1' },
    });
    expect(fields).toEqual({ model: 'fake-1' });
  });

  it('reports adapter failures with a stable code and never quotes the body in the message', async () => {
    const syntaxError = (): unknown => {
      try {
        JSON.parse('{"messages": my secret prompt text}');
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(String((syntaxError() as Error).message)).toContain('secret');
    const h = harness(createFakeAdapter({ throwIn: 'push', makeError: syntaxError }));
    await runCall(h);
    expect(h.errors).toHaveLength(1);
    const reported = h.errors[0]?.error as Error & { code: string; cause: unknown };
    expect(reported.code).toBe('ADAPTER_FAILED');
    expect(reported.message).toBe('fake parse threw SyntaxError');
    expect(reported.cause).toBeInstanceOf(SyntaxError);

    const typeError = harness(
      createFakeAdapter({ throwIn: 'finish', makeError: () => new TypeError("reading 'usage'") }),
    );
    await runCall(typeError);
    expect(typeError.errors[0]?.error).toMatchObject({
      message: "fake parse threw TypeError: reading 'usage'",
    });
  });

  it('keeps the facts the parser saw before it threw', async () => {
    const h = harness(createFakeAdapter({ throwIn: 'push', throwFromFrame: 3 }));
    const { call } = await runCall(h);
    expect(call?.response.responseModel).toBe('fake-1');
    expect(call?.outputChunks).toBe(1);
  });

  it('an adapter throwing in operationFor opens no tap and reports once', () => {
    const h = harness(createFakeAdapter({ throwIn: 'operationFor' }));
    expect(createCaptureTapFactory(h.factoryOptions).open(context())).toBeUndefined();
    expect(h.errors.map((e) => e.stage)).toEqual(['parse']);
  });

  it('an observer throwing in start opens no tap; throwing in finish is reported and end() returns undefined', async () => {
    const throwingStart = harness(createFakeAdapter(), {
      observer: {
        start: () => {
          throw new Error('start exploded');
        },
      },
    });
    expect(createCaptureTapFactory(throwingStart.factoryOptions).open(context())).toBeUndefined();
    expect(throwingStart.errors.map((e) => e.stage)).toEqual(['observer']);

    const throwingFinish = harness(createFakeAdapter(), {
      observer: {
        start: () => ({
          finish: () => {
            throw new Error('finish exploded');
          },
        }),
      },
    });
    const { fields } = await runCall(throwingFinish);
    expect(fields).toBeUndefined();
    expect(throwingFinish.errors.map((e) => e.stage)).toEqual(['observer']);
  });

  it('an onError sink that throws does not break the call', async () => {
    const h = harness(createFakeAdapter({ throwIn: 'push' }));
    const throwingSink = createCaptureTapFactory({
      ...h.factoryOptions,
      onError: () => {
        throw new Error('sink exploded');
      },
    });
    const tap = throwingSink.open(context());
    expect(tap).toBeDefined();
    tap?.requestBody(Buffer.from(requestJson));
    tap?.requestEnd();
    tap?.responseHead(200, sseHeaders, 1);
    tap?.responseBody(Buffer.from(sseBody), 2);
    await tap?.end({ at: 3, complete: true, copyTruncated: false });
    expect(h.calls[0]?.truncated).toBe(true);
  });

  it('ignores a second end()', async () => {
    const h = harness(createFakeAdapter());
    const tap = h.open();
    tap.responseHead(200, sseHeaders, 1);
    await tap.end({ at: 2, complete: true, copyTruncated: false });
    expect(tap.end({ at: 3, complete: true, copyTruncated: false })).toBeUndefined();
    expect(h.calls).toHaveLength(1);
  });
});

describe('capture tap: large non-streaming bodies, real adapters', () => {
  it('records the usage of an embeddings answer far over maxFrameBytes (gzip on the wire)', async () => {
    const fixture = loadRecordedFixtures().find((f) => f.file === 'openai/embeddings.json');
    const openai = adapterById('openai');
    if (fixture === undefined || openai === undefined) throw new Error('fixture or adapter missing');
    expect(fixture.response.body.length).toBeGreaterThan(4 * 2048);
    const { call, errors } = await replayFixture(
      fixture,
      openai,
      { random: 5, maxChunk: 300 },
      { limits: { maxFrameBytes: 2048 } },
    );
    expect(errors).toEqual([]);
    expect(call.response.usage.inputTokens).toBe(fixture.expected.input_tokens);
    expect(call.response.responseModel).toBe(fixture.expected.model);
    expect(call).toMatchObject({ outcome: 'completed', truncated: false });
  });
});

describe('replay helper', () => {
  it('keeps the recorded scheme and port in the server address (local Ollama over http)', async () => {
    const fixture = loadRecordedFixtures().find((f) => f.file === 'ollama/chat_stream_ndjson.json');
    const ollama = adapterById('ollama');
    if (fixture === undefined || ollama === undefined) throw new Error('fixture or adapter missing');
    const { call } = await replayFixture(fixture, ollama, 'whole');
    expect(call).toMatchObject({ serverAddress: '127.0.0.1', serverPort: 11434 });
  });
});

describe('capture tap: shared request-copy budget', () => {
  it('stops copying request bodies past limits.maxRequestCopyTotalBytes across calls, and gives the room back', async () => {
    const bodies: unknown[] = [];
    const body = Buffer.from(requestJson);
    const h = harness(createFakeAdapter({ bodies }), {
      limits: { maxRequestCopyTotalBytes: body.length + 10 },
    });
    // The first call's copy is held while its upload is in flight: the second call finds no room.
    const first = h.open();
    first.requestBody(body);
    const second = h.open();
    second.requestBody(body);
    second.requestEnd();
    expect(bodies.at(-1)).not.toEqual(JSON.parse(requestJson));
    first.requestEnd();
    expect(bodies.at(-1)).toEqual(JSON.parse(requestJson));
    for (const tap of [first, second]) {
      tap.responseHead(200, sseHeaders, 200);
      tap.responseBody(Buffer.from(sseBody), 1000);
      await tap.end({ at: 2000, complete: true, copyTruncated: false });
    }
    expect(h.calls[1]?.truncated).toBe(true);
    expect(h.calls[0]?.request.requestModel).toBe('fake-req');
    // Both calls ended: the whole budget is free again.
    const { call } = await runCall(h);
    expect(call?.request.requestModel).toBe('fake-req');
    expect(call?.truncated).toBe(false);
  });
});
