/**
 * Cleartext HTTP/2 with prior knowledge on the data port, next to HTTP/1.1: same handler, so the same guards,
 * streaming, backpressure and cancellation. Driven by node:http2's client (what the AWS SDK's default handler uses).
 */
import { once } from 'node:events';
import { request as http1Request } from 'node:http';
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const setup = async (
  upstream: Upstream,
  extra: Record<string, unknown> = {},
): Promise<{ proxy: TestProxy; client: ClientHttp2Session }> => {
  const proxy = await startTestProxy({
    routes: [{ prefix: '/up', provider: 'openai-compatible', upstream: upstream.url }],
    ...extra,
  });
  const client = connect(proxy.dataUrl);
  client.on('error', () => {});
  cleanups.push(async () => {
    client.destroy();
    await proxy.drain(500);
    await upstream.close();
  });
  return { proxy, client };
};

interface H2Answer {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const h2 = (
  client: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<H2Answer> =>
  new Promise((resolve, reject) => {
    const stream = client.request(headers);
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(body);
  });

describe('h2c on the data port', () => {
  it('forwards an HTTP/2 request with its exact body and headers, and the answer back', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end('{"ok":true}');
    });
    const { proxy, client } = await setup(upstream);
    const body = Buffer.from('{"model":"m","messages":[]}');
    const answer = await h2(
      client,
      {
        ':method': 'POST',
        ':path': '/up/v1/chat/completions?x=1',
        'content-type': 'application/json',
        'content-length': String(body.length),
        authorization: 'Bearer sk-test',
      },
      body,
    );
    expect(answer.headers[':status']).toBe(201);
    expect(answer.headers['x-upstream']).toBe('yes');
    expect(answer.body.toString()).toBe('{"ok":true}');
    const seen = upstream.received[0];
    expect(seen?.url).toBe('/v1/chat/completions?x=1');
    expect(seen?.method).toBe('POST');
    expect(seen?.body.equals(body)).toBe(true);
    expect(seen?.headers.authorization).toBe('Bearer sk-test');
    expect(seen?.rawHeaders.some((name) => name.startsWith(':'))).toBe(false);
    // HTTP/1.1 keeps working on the same port.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http1Request(`${proxy.dataUrl}/up/v1/models`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(201);
  });

  it('a request body streamed without content-length arrives whole', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const { client } = await setup(upstream);
    const stream = client.request({ ':method': 'POST', ':path': '/up/v1/embeddings' });
    const parts = [Buffer.alloc(200_000, 0x61), Buffer.alloc(300_000, 0x62)];
    stream.write(parts[0]);
    await new Promise((resolve) => setImmediate(resolve));
    stream.end(parts[1]);
    const [head] = (await once(stream, 'response')) as [IncomingHttpHeaders];
    stream.resume();
    await once(stream, 'end');
    expect(head[':status']).toBe(200);
    expect(upstream.received[0]?.body.equals(Buffer.concat(parts))).toBe(true);
  });

  it('streams SSE events as they arrive', async () => {
    let release: (() => void) | undefined;
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"i":0}\n\n');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      res.end('data: [DONE]\n\n');
    });
    const { client } = await setup(upstream);
    const stream = client.request({ ':method': 'GET', ':path': '/up/v1/stream' });
    stream.end();
    const [first] = (await once(stream, 'data')) as [Buffer];
    // The first event arrived while the upstream still holds the rest back.
    expect(first.toString()).toBe('data: {"i":0}\n\n');
    release?.();
    const rest: Buffer[] = [];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).toString()).toBe('data: [DONE]\n\n');
  });

  it('refuses a foreign :authority and an unknown path with llmtap errors', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.end('never');
    });
    const { client } = await setup(upstream);
    const foreign = await h2(client, { ':method': 'GET', ':path': '/up/x', ':authority': 'evil.example:80' });
    expect(foreign.headers[':status']).toBe(403);
    expect(JSON.parse(foreign.body.toString()).error.code).toBe('LLMTAP_FORBIDDEN_HOST');
    const noRoute = await h2(client, { ':method': 'GET', ':path': '/nope' });
    expect(noRoute.headers[':status']).toBe(404);
    expect(upstream.received).toHaveLength(0);
  });

  it('request headers over maxHeaderBytes are refused, never forwarded', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.end('never');
    });
    const { client } = await setup(upstream);
    const stream = client.request({ ':method': 'GET', ':path': '/up/x', 'x-big': 'a'.repeat(100_000) });
    stream.end();
    const failed = await new Promise<string>((resolve) => {
      stream.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      stream.on('response', (head) => resolve(String(head[':status'])));
    });
    expect(failed).toBe('ERR_HTTP2_STREAM_ERROR');
    expect(upstream.received).toHaveLength(0);
  });

  it('a stream the client resets aborts the upstream request', async () => {
    let upstreamClosed: Promise<unknown> | undefined;
    const upstream = await startUpstream((_req, res, raw) => {
      upstreamClosed = once(raw.socket, 'close');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"i":0}\n\n');
    });
    const { client } = await setup(upstream);
    const stream = client.request({ ':method': 'GET', ':path': '/up/v1/stream' });
    stream.end();
    await once(stream, 'data');
    stream.close(8 /* NGHTTP2_CANCEL */);
    await upstreamClosed;
    expect(upstream.received).toHaveLength(1);
  });

  it('a client that stops reading pauses the upstream (memory stays bounded)', async () => {
    let written = 0;
    let blocked: (() => void) | undefined;
    const blockedOnce = new Promise<void>((resolve) => {
      blocked = resolve;
    });
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let i = 0; i < 1600; i += 1) {
        written += chunk.length;
        if (!res.write(chunk)) {
          blocked?.();
          await once(res, 'drain');
        }
      }
      res.end();
    });
    const { client } = await setup(upstream);
    const stream = client.request({ ':method': 'GET', ':path': '/up/big' });
    stream.end();
    await once(stream, 'response');
    stream.pause();
    await blockedOnce;
    // The 100 MiB body is held back by flow control: at most a few MiB sit in windows and socket buffers.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    stream.close(8);
  });

  it('the HTTP/2 preface followed by garbage: the session ends and nothing reaches the upstream', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.end();
    });
    const { proxy } = await setup(upstream);
    const { port } = new URL(proxy.dataUrl);
    const socket = tcpConnect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(Buffer.from('GET /up/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    await once(socket, 'close');
    const bytes = Buffer.concat(received);
    // HTTP/2 frames (SETTINGS, then GOAWAY: type 0x7), never an HTTP/1.1 answer.
    expect(bytes.subarray(0, 5).toString()).not.toBe('HTTP/');
    expect(bytes.includes(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00]))).toBe(true);
    expect(upstream.received).toHaveLength(0);
  });

  it('a request waiting for a slow upstream head outlives the idle timeout; an idle session does not', async () => {
    const upstream = await startUpstream(async (_req, res) => {
      // The model "thinks" for three idle periods before its first byte.
      await new Promise((resolve) => setTimeout(resolve, 900));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"late":true}');
    });
    const { proxy, client } = await setup(upstream, { timeouts: { idleMs: 300 } });
    const answer = await h2(client, { ':method': 'POST', ':path': '/up/v1/chat/completions' }, '{}');
    expect(answer.headers[':status']).toBe(200);
    expect(answer.body.toString()).toBe('{"late":true}');
    // With nothing in flight, the same session is cut once idle.
    const idle = connect(proxy.dataUrl);
    idle.on('error', () => {});
    await once(idle, 'connect');
    await once(idle, 'close');
    expect(idle.destroyed).toBe(true);
  });

  it('a connection that sends no bytes is closed after the header timeout', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.end();
    });
    const proxy = await startTestProxy({
      routes: [{ prefix: '/up', provider: 'openai-compatible', upstream: upstream.url }],
      timeouts: { headersMs: 200 },
    });
    cleanups.push(async () => {
      await proxy.drain(500);
      await upstream.close();
    });
    const { port } = new URL(proxy.dataUrl);
    const socket = tcpConnect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await once(socket, 'close');
    // Closed by llmtap without a word (there was no request to answer).
    expect(Buffer.concat(received)).toHaveLength(0);
  });
});
