/**
 * Realtime over WebSocket through the whole llmtap: the real `openai` SDK's Realtime client (`openai/realtime/ws`)
 * and a raw `ws` client with permessage-deflate, to a loopback fake Realtime server following the documented event
 * sequence; the real OTLP exporters to the in-test receiver. The tunnel must stay byte-exact; the telemetry is one
 * span per response (children of a session span) plus per-response metrics. Bad input (a message over the frame
 * cap, invalid frames) leaves the tunnel untouched and makes the observer give up, counted.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import OpenAI, { AzureOpenAI } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { realtimeUsage, startFakeRealtime } from '../helpers/fake-realtime.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const start = async (
  upstreamUrl: string,
  limits: Record<string, number> = {},
): Promise<{ app: TestLlmtap; receiver: OtlpReceiver }> => {
  const receiver = await startOtlpReceiver();
  const app = await startFullLlmtap(
    { routes: [{ prefix: '/openai', provider: 'openai', upstream: upstreamUrl }], limits },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  );
  cleanups.push(async () => {
    await app.shutdown();
    await receiver.close();
  });
  return { app, receiver };
};

const responseSpans = (receiver: OtlpReceiver): ReceivedSpan[] =>
  receiver.spans.filter((span) => span.name.startsWith('chat '));
const sessionSpan = (receiver: OtlpReceiver): ReceivedSpan | undefined =>
  receiver.spans.find((span) => span.name.startsWith('realtime '));

const expectResponseSpan = (span: ReceivedSpan | undefined, session: ReceivedSpan | undefined): void => {
  expect(span?.attributes).toMatchObject({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-realtime',
    'gen_ai.response.model': 'gpt-realtime-2025-08-28',
    'gen_ai.request.stream': true,
    'gen_ai.response.finish_reasons': ['completed'],
    'gen_ai.usage.input_tokens': realtimeUsage.input_tokens,
    'gen_ai.usage.output_tokens': realtimeUsage.output_tokens,
    'gen_ai.usage.cache_read.input_tokens': 64,
    'gen_ai.conversation.id': 'sess_C9G5QPteg4UIbotdKLoYQ',
    'llmtap.usage.input_text_tokens': 119,
    'llmtap.usage.input_audio_tokens': 13,
    'llmtap.usage.output_text_tokens': 30,
    'llmtap.usage.output_audio_tokens': 91,
    'llmtap.usage.cache_read.text_tokens': 64,
  });
  expect(span?.attributes['gen_ai.response.id']).toMatch(/^resp_/);
  expect(span?.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThanOrEqual(0);
  expect(span?.kind).toBe('SPAN_KIND_CLIENT');
  // Each response is a child of the socket's session span.
  expect(span?.traceId).toBe(session?.traceId);
  expect(span?.parentSpanId).toBe(session?.spanId);
};

describe('Realtime over WebSocket through llmtap', () => {
  it('the openai SDK Realtime client: events arrive unchanged, one span per response under a session span', async () => {
    const fake = await startFakeRealtime({ perMessageDeflate: false });
    cleanups.push(() => fake.close());
    const { app, receiver } = await start(fake.url);
    const client = new OpenAI({
      apiKey: 'sk-RTCANARY0123456789abcdef',
      baseURL: `${app.server.dataUrl}/openai/v1`,
    });
    // The SDK always builds a wss: URL; llmtap's loopback port is plaintext, so the app hands ws a TCP connector.
    const rt = new OpenAIRealtimeWS(
      { model: 'gpt-realtime', options: { createConnection: netConnect } },
      client,
    );
    const raw: string[] = [];
    rt.socket.on('message', (data: Buffer) => raw.push(data.toString()));
    await once(rt.socket, 'open');
    const done: string[] = [];
    const twoDone = new Promise<void>((resolve) => {
      rt.on('response.done', (event) => {
        done.push(event.response.id ?? '');
        if (done.length === 2) resolve();
      });
    });
    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] },
    });
    rt.send({ type: 'response.create' });
    rt.send({ type: 'response.create' });
    await twoDone;
    rt.close();
    await once(rt.socket, 'close');

    expect(fake.connections[0]?.url).toBe('/v1/realtime?model=gpt-realtime');
    expect(fake.connections[0]?.headers.authorization).toBe('Bearer sk-RTCANARY0123456789abcdef');
    // What the app got is exactly what the upstream sent.
    expect(raw).toEqual(fake.sent);
    expect(fake.received.map((text) => JSON.parse(text).type)).toEqual([
      'session.update',
      'conversation.item.create',
      'response.create',
      'response.create',
    ]);

    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    await app.shutdown();
    const session = sessionSpan(receiver);
    expect(session?.name).toBe('realtime gpt-realtime');
    expect(session?.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.conversation.id': 'sess_C9G5QPteg4UIbotdKLoYQ',
      'llmtap.realtime.responses': 2,
      'llmtap.realtime.input_tokens': 2 * realtimeUsage.input_tokens,
      'llmtap.realtime.output_tokens': 2 * realtimeUsage.output_tokens,
    });
    // The upgrade request carried the session span's trace context upstream.
    expect(fake.connections[0]?.headers.traceparent).toContain(session?.spanId);
    const spans = responseSpans(receiver);
    expect(spans.map((span) => span.attributes['gen_ai.response.id']).sort()).toEqual([...done].sort());
    for (const span of spans) expectResponseSpan(span, session);
    // Metrics per response: two input and two output token recordings.
    const tokens = receiver.metrics.find((metric) => metric.name === 'gen_ai.client.token.usage');
    const input = tokens?.points.find((point) => point.attributes['gen_ai.token.type'] === 'input');
    expect(input?.count).toBe(2);
    expect(input?.sum).toBe(2 * realtimeUsage.input_tokens);
    // The API key went nowhere near the telemetry.
    expect(receiver.allBytes().includes('RTCANARY')).toBe(false);
  });

  it('the openai SDK Azure Realtime client (OpenAIRealtimeWS.azure): api-key auth, deployment as the model', async () => {
    const fake = await startFakeRealtime({ perMessageDeflate: false });
    cleanups.push(() => fake.close());
    const receiver = await startOtlpReceiver();
    const app = await startFullLlmtap(
      { routes: [{ prefix: '/azure', provider: 'azure-openai', upstream: fake.url }] },
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    );
    cleanups.push(async () => {
      await app.shutdown();
      await receiver.close();
    });
    const azure = new AzureOpenAI({
      apiKey: 'AZRTCANARY0123456789abcdef',
      baseURL: `${app.server.dataUrl}/azure/openai`,
      apiVersion: '2025-04-01-preview',
      deployment: 'gpt-realtime',
    });
    const rt = await OpenAIRealtimeWS.azure(azure, { options: { createConnection: netConnect } });
    await once(rt.socket, 'open');
    const done = new Promise<void>((resolve) => rt.on('response.done', () => resolve()));
    rt.send({ type: 'response.create' });
    await done;
    rt.close();
    await once(rt.socket, 'close');
    expect(fake.connections[0]?.url).toBe('/openai/v1/realtime?model=gpt-realtime');
    expect(fake.connections[0]?.headers['api-key']).toBe('AZRTCANARY0123456789abcdef');
    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    const [span] = responseSpans(receiver);
    expect(span?.attributes).toMatchObject({
      'gen_ai.provider.name': 'azure.ai.openai',
      'gen_ai.request.model': 'gpt-realtime',
      'gen_ai.usage.input_tokens': realtimeUsage.input_tokens,
      'gen_ai.usage.output_tokens': realtimeUsage.output_tokens,
    });
    expect(receiver.allBytes().includes('AZRTCANARY')).toBe(false);
  });

  it('a raw ws client with permessage-deflate: compressed frames both ways are observed', async () => {
    const fake = await startFakeRealtime({ perMessageDeflate: true });
    cleanups.push(() => fake.close());
    const { app, receiver } = await start(fake.url);
    const ws = new WebSocket(
      `${app.server.dataUrl.replace('http', 'ws')}/openai/v1/realtime?model=gpt-realtime`,
      {
        perMessageDeflate: { threshold: 0 },
      },
    );
    const got: string[] = [];
    ws.on('message', (data: Buffer) => got.push(data.toString()));
    await once(ws, 'open');
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send(JSON.stringify({ type: 'response.create', response: { instructions: 'Say hello.' } }));
    await receiver.waitFor(() => got.some((text) => text.includes('"response.done"')), 5000, 'response.done');
    ws.close();
    await once(ws, 'close');
    expect(got).toEqual(fake.sent);
    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    const spans = responseSpans(receiver);
    expect(spans).toHaveLength(1);
    expectResponseSpan(spans[0], sessionSpan(receiver));
  });

  it('a message over the frame cap passes unchanged; the observer gives up and counts it', async () => {
    const fake = await startFakeRealtime({ perMessageDeflate: false });
    cleanups.push(() => fake.close());
    const { app, receiver } = await start(fake.url, { maxFrameBytes: 65_536 });
    const ws = new WebSocket(
      `${app.server.dataUrl.replace('http', 'ws')}/openai/v1/realtime?model=gpt-realtime`,
    );
    const got: string[] = [];
    ws.on('message', (data: Buffer) => got.push(data.toString()));
    await once(ws, 'open');
    // First response observed normally, then one with a 300 KB delta in the middle.
    ws.send(JSON.stringify({ type: 'response.create' }));
    await receiver.waitFor(
      () => got.filter((t) => t.includes('"response.done"')).length === 1,
      5000,
      'done 1',
    );
    fake.setOversizedDelta(300_000);
    ws.send(JSON.stringify({ type: 'response.create' }));
    await receiver.waitFor(
      () => got.filter((t) => t.includes('"response.done"')).length === 2,
      5000,
      'done 2',
    );
    ws.close();
    await once(ws, 'close');
    expect(got).toEqual(fake.sent);
    expect(got.some((text) => text.length > 300_000)).toBe(true);
    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    await app.shutdown();
    expect(sessionSpan(receiver)?.attributes['llmtap.realtime.observer_gave_up']).toBe('OVER_CAP');
    // The response before the oversized message is recorded whole; the one cut by the give-up is recorded as cut
    // (truncated copy: no usage, and not counted as the app's error), nothing after it is invented.
    const [whole, cut] = responseSpans(receiver).sort((a, b) => Number(a.startNs - b.startNs));
    expect(responseSpans(receiver)).toHaveLength(2);
    expect(whole?.attributes['gen_ai.usage.output_tokens']).toBe(realtimeUsage.output_tokens);
    expect(cut?.attributes['llmtap.capture.truncated']).toBe(true);
    expect(cut?.attributes).not.toHaveProperty('gen_ai.usage.output_tokens');
    expect(cut?.attributes).not.toHaveProperty('error.type');
    const errors = receiver.metrics.find((metric) => metric.name === 'llmtap.telemetry.errors');
    expect(errors?.points.find((p) => p.attributes['llmtap.telemetry.stage'] === 'framing')?.value).toBe(1);
  });

  it('Gemini Live (binary JSON frames): one span per turn with its usageMetadata', async () => {
    // A fake BidiGenerateContent server following ai.google.dev/api/live: setupComplete, then per client turn
    // audio chunks, generationComplete, and turnComplete carrying usageMetadata. Frames are binary, as Google sends.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const sent: Buffer[] = [];
    server.on('connection', (socket) => {
      const send = (message: unknown): void => {
        const bytes = Buffer.from(JSON.stringify(message));
        sent.push(bytes);
        socket.send(bytes, { binary: true });
      };
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        if ('setup' in message) send({ setupComplete: {} });
        if (!('clientContent' in message)) return;
        for (let i = 0; i < 3; i += 1)
          send({
            serverContent: {
              modelTurn: {
                parts: [
                  {
                    inlineData: {
                      mimeType: 'audio/pcm;rate=24000',
                      data: Buffer.alloc(3000, i).toString('base64'),
                    },
                  },
                ],
              },
            },
          });
        send({ serverContent: { generationComplete: true } });
        send({
          serverContent: { turnComplete: true },
          usageMetadata: {
            promptTokenCount: 25,
            responseTokenCount: 180,
            totalTokenCount: 205,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: 25 }],
            responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 180 }],
          },
        });
      });
    });
    const receiver = await startOtlpReceiver();
    const app = await startFullLlmtap(
      {
        routes: [
          {
            prefix: '/gemini',
            provider: 'gemini',
            upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          },
        ],
      },
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    );
    cleanups.push(async () => {
      await app.shutdown();
      await receiver.close();
    });
    const ws = new WebSocket(
      `${app.server.dataUrl.replace('http', 'ws')}/gemini/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=AIzaLIVECANARY0123456789`,
    );
    const got: Buffer[] = [];
    ws.on('message', (data: Buffer) => got.push(data));
    await once(ws, 'open');
    ws.send(JSON.stringify({ setup: { model: 'models/gemini-live-2.5-flash-preview' } }));
    ws.send(
      JSON.stringify({
        clientContent: { turns: [{ role: 'user', parts: [{ text: 'Hello' }] }], turnComplete: true },
      }),
    );
    await receiver.waitFor(() => got.length === 6, 5000, 'six server messages');
    ws.close();
    await once(ws, 'close');
    expect(Buffer.concat(got).equals(Buffer.concat(sent))).toBe(true);
    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    const [turn] = responseSpans(receiver);
    expect(turn?.name).toBe('chat gemini-live-2.5-flash-preview');
    expect(turn?.attributes).toMatchObject({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.usage.input_tokens': 25,
      'gen_ai.usage.output_tokens': 180,
      'gen_ai.response.finish_reasons': ['turn_complete'],
      'llmtap.usage.input_text_tokens': 25,
      'llmtap.usage.output_audio_tokens': 180,
    });
    expect(turn?.parentSpanId).toBe(sessionSpan(receiver)?.spanId);
    expect(receiver.allBytes().includes('LIVECANARY')).toBe(false);
  });

  it('a client that never reads: the upstream is held back (backpressure), llmtap does not buffer the stream', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    cleanups.push(() => {
      for (const client of server.clients) client.terminate();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    let sent = 0;
    const held = new Promise<number>((resolve) => {
      server.on('connection', async (socket) => {
        const delta = JSON.stringify({
          type: 'response.output_audio.delta',
          response_id: 'resp_1',
          delta: 'A'.repeat(65_000),
        });
        // Bounded: 48 MiB at most. Sending stops once 4 MiB wait in the fake's own buffer: nothing is reading.
        for (let i = 0; i < 750 && socket.bufferedAmount < 4 * 1024 * 1024; i += 1) {
          socket.send(delta);
          sent += delta.length;
          if (i % 16 === 15) await new Promise((r) => setImmediate(r));
        }
        resolve(socket.bufferedAmount);
      });
    });
    const { app } = await start(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const { port } = new URL(app.server.dataUrl);
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.write(
      'GET /openai/v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // Read the 101 head, then never again.
    await once(socket, 'data');
    socket.pause();
    const waiting = await held;
    expect(waiting).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    // What left the fake sits in kernel buffers and llmtap's two sockets, not in an unbounded queue of llmtap's.
    expect(sent - waiting).toBeLessThan(24 * 1024 * 1024);
    socket.destroy();
  });

  it('invalid frames reach the client byte for byte; the observer gives up', async () => {
    // A server that accepts the upgrade and then sends frames no WebSocket peer may send.
    const garbage = Buffer.concat([
      Buffer.from([0x81, 0x05]),
      Buffer.from('hello'),
      Buffer.from([0x83, 0x02, 0x41, 0x42]), // reserved opcode 3
      Buffer.from('trailing bytes that are not frames'),
    ]);
    const upstream = createServer();
    upstream.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
      );
      socket.end(garbage);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
    const { app, receiver } = await start(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    const { port } = new URL(app.server.dataUrl);
    const socket = netConnect(Number(port), '127.0.0.1');
    socket.write(
      'GET /openai/v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'close');
    const all = Buffer.concat(chunks);
    const bodyAt = all.indexOf('\r\n\r\n') + 4;
    expect(all.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
    expect(all.subarray(bodyAt).equals(garbage)).toBe(true);
    await receiver.waitFor(() => sessionSpan(receiver) !== undefined, 5000, 'session span');
    expect(sessionSpan(receiver)?.attributes['llmtap.realtime.observer_gave_up']).toBeDefined();
    expect(responseSpans(receiver)).toHaveLength(0);
  });
});
