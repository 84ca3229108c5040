/**
 * Forwarding behaviour of the proxy core on loopback: streaming without buffering, cancellation, error answers,
 * resets passed on as resets, backpressure, header rules, redirects, drain.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const setup = async (upstream: Upstream, route: Record<string, unknown> = {}): Promise<TestProxy> => {
  const proxy = await startTestProxy({
    routes: [{ prefix: '/up', provider: 'openai-compatible', upstream: upstream.url, ...route }],
  });
  cleanups.push(async () => {
    await proxy.drain(500);
    await upstream.close();
  });
  return proxy;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a request and resolves with the response stream as soon as headers arrive. */
const open = (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, resolve);
    req.on('error', reject);
    req.end();
  });

describe('streaming', () => {
  it('delivers every SSE event before the upstream sends the next one', async () => {
    // Lock-step instead of timers: the upstream sends event i+1 only once the client has event i. A proxy that
    // held an event back until more bytes came would stall here; the deadline (reached only then) records it.
    let received = 0;
    let onReceived: () => void = () => undefined;
    const stalled: number[] = [];
    const clientHas = (count: number): Promise<void> =>
      new Promise((resolve) => {
        const deadline = setTimeout(() => {
          stalled.push(count - 1);
          resolve();
        }, 15_000);
        const check = (): void => {
          if (received < count) return;
          clearTimeout(deadline);
          resolve();
        };
        onReceived = check;
        check();
      });
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 6; i += 1) {
        res.write(`data: {"i":${i}}\n\n`);
        await clientHas(i + 1);
      }
      res.end('data: [DONE]\n\n');
    });
    const proxy = await setup(upstream);
    const res = await open(`${proxy.dataUrl}/up/v1/chat/completions`);
    let text = '';
    for await (const chunk of res) {
      const piece = (chunk as Buffer).toString();
      text += piece;
      received += piece.match(/"i":\d/g)?.length ?? 0;
      onReceived();
    }
    expect(received).toBe(6);
    expect(stalled).toEqual([]);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('sends the response head at once when the first body byte is still far away', async () => {
    // The body waits until the client has the head (or a deadline, reached only if the head was held back).
    let headArrived: () => void = () => undefined;
    const clientHasHead = new Promise<void>((resolve) => {
      headArrived = resolve;
    });
    let bodyWritten = false;
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      await Promise.race([clientHasHead, sleep(15_000)]);
      bodyWritten = true;
      res.end('data: [DONE]\n\n');
    });
    const proxy = await setup(upstream);
    const res = await open(`${proxy.dataUrl}/up/v1/chat/completions`);
    expect(res.statusCode).toBe(200);
    expect(bodyWritten).toBe(false);
    headArrived();
    let text = '';
    for await (const chunk of res) text += (chunk as Buffer).toString();
    expect(text).toBe('data: [DONE]\n\n');
  });

  it('aborts the upstream when the client disconnects mid-stream', async () => {
    let upstreamClosedAt: number | undefined;
    const upstream = await startUpstream(async (_req, res, raw) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"first":true}\n\n');
      raw.socket.once('close', () => {
        upstreamClosedAt = performance.now();
      });
      // Until llmtap lets go: the upstream socket closes only when the call is aborted.
      while (!res.destroyed) {
        await sleep(50);
        res.write('data: {"more":true}\n\n');
      }
      res.end();
    });
    const proxy = await setup(upstream);
    const res = await open(`${proxy.dataUrl}/up/v1/chat/completions`);
    await once(res, 'data');
    res.destroy();
    await expect.poll(() => upstreamClosedAt, { timeout: 30_000, interval: 20 }).toBeDefined();
  });

  it('passes a reset in the middle of a stream on as a failure, never as a clean end', async () => {
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"partial":true}\n\n');
      await sleep(30);
      res.socket?.destroy();
    });
    const proxy = await setup(upstream);
    const res = await open(`${proxy.dataUrl}/up/v1/chat/completions`);
    let received = '';
    const outcome = await new Promise<string>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      res.on('end', () => resolve(res.complete ? 'clean end' : 'incomplete end'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
    });
    expect(received).toContain('"partial":true');
    expect(outcome).not.toBe('clean end');
    expect(received).not.toContain('[DONE]');
  });

  it('pauses the upstream instead of buffering when the client does not read', async () => {
    const total = 64 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 97);
    let written = 0;
    let blocked = false;
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      while (written < total && !res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) {
          blocked = true;
          await once(res, 'drain');
          blocked = false;
        }
      }
      res.end();
    });
    const proxy = await setup(upstream);
    const res = await open(`${proxy.dataUrl}/up/blob`);
    res.pause();
    // Wait until the upstream is blocked on backpressure (its write refused, waiting for a drain): a positive
    // signal, where 'nothing written for 300 ms' could also be a busy machine.
    await expect.poll(() => blocked, { timeout: 30_000, interval: 20 }).toBe(true);
    // Kernel socket buffers on loopback hold a few MiB each way; llmtap itself must hold no more than a chunk.
    expect(written).toBeLessThan(24 * 1024 * 1024);
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    res.resume();
    await once(res, 'end');
    expect(received).toBe(total);
  });
});

describe('request bodies', () => {
  it('streams a large request body (past the read-ahead and injection buffers) byte for byte', async () => {
    const upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ length: req.body.length, last: req.body.at(-1) }));
    });
    const proxy = await setup(upstream);
    const body = Buffer.alloc(5 * 1024 * 1024 + 7, 97);
    body[body.length - 1] = 98;
    const response = await rawRequest(`${proxy.dataUrl}/up/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({ length: body.length, last: 98 });
    expect(upstream.received[0]?.body.equals(body)).toBe(true);
  });
});

describe('errors', () => {
  it('answers 502 with the JSON error shape when the upstream refuses connections', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const proxy = await startTestProxy({
      routes: [{ prefix: '/down', provider: 'openai', upstream: `http://127.0.0.1:${port}` }],
    });
    cleanups.push(() => proxy.drain(200).then(() => undefined));
    const response = await rawRequest(`${proxy.dataUrl}/down/v1/models`);
    expect(response.status).toBe(502);
    const body = JSON.parse(response.body.toString()) as { error: Record<string, unknown> };
    expect(body.error.type).toBe('llmtap_upstream_error');
    expect(body.error.code).toBe('LLMTAP_UPSTREAM_CONNECT');
    expect(String(body.error.message)).toContain('127.0.0.1');
    expect(proxy.logs.some((line) => line.includes('ECONNREFUSED'))).toBe(true);
  });

  it('answers 504 when the upstream does not send headers in time', async () => {
    const upstream = await startUpstream(async () => {
      // never answers
    });
    const proxy = await startTestProxy({
      routes: [{ prefix: '/slow', provider: 'openai', upstream: upstream.url }],
      timeouts: { upstreamHeadersMs: 300 },
    });
    cleanups.push(async () => {
      await proxy.drain(200);
      await upstream.close();
    });
    const response = await rawRequest(`${proxy.dataUrl}/slow/v1/chat/completions`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body.toString()).error.code).toBe('LLMTAP_UPSTREAM_TIMEOUT');
  });

  it('answers 404 listing the configured prefixes for an unknown path', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.end();
    });
    const proxy = await setup(upstream);
    const response = await rawRequest(`${proxy.dataUrl}/nope/v1/chat/completions`);
    expect(response.status).toBe(404);
    const body = JSON.parse(response.body.toString()) as { error: { code: string; prefixes: string[] } };
    expect(body.error.code).toBe('LLMTAP_NO_ROUTE');
    expect(body.error.prefixes).toContain('/up');
    expect(body.error.prefixes).toContain('/openai');
    expect(upstream.received).toHaveLength(0);
  });
});

describe('transparency rules', () => {
  it('drops hop-by-hop headers both ways, keeps credentials for the upstream only, adds no X-Forwarded-*', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { connection: 'x-upstream-hop', 'x-upstream-hop': '1', 'x-end-to-end': 'kept' });
      res.end('ok');
    });
    const proxy = await setup(upstream);
    const response = await rawRequest(`${proxy.dataUrl}/up/v1/models?limit=2`, {
      headers: {
        authorization: 'Bearer sk-test-canary-1234567890',
        connection: 'x-client-hop',
        'x-client-hop': '1',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-custom': 'same',
      },
    });
    const received = upstream.received[0];
    expect(received?.url).toBe('/v1/models?limit=2');
    expect(received?.headers.authorization).toBe('Bearer sk-test-canary-1234567890');
    expect(received?.headers['x-custom']).toBe('same');
    expect(received?.headers['x-client-hop']).toBeUndefined();
    expect(received?.headers['proxy-authorization']).toBeUndefined();
    expect(Object.keys(received?.headers ?? {}).some((name) => name.startsWith('x-forwarded'))).toBe(false);
    expect(response.headers['x-end-to-end']).toBe('kept');
    expect(response.headers['x-upstream-hop']).toBeUndefined();
    expect(proxy.logs.join('\n')).not.toContain('sk-test-canary');
  });

  it('passes redirects to the client instead of following them', async () => {
    const upstream = await startUpstream((req, res) => {
      res.writeHead(307, { location: `/elsewhere${req.url}` });
      res.end();
    });
    const proxy = await setup(upstream);
    const response = await rawRequest(`${proxy.dataUrl}/up/v1/models`);
    expect(response.status).toBe(307);
    expect(response.headers.location).toBe('/elsewhere/v1/models');
    expect(upstream.received).toHaveLength(1);
  });

  it('routes through HTTP_PROXY for its own upstream connections when configured', async () => {
    const seen: string[] = [];
    const egress = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('via egress proxy');
    });
    egress.listen(0, '127.0.0.1');
    await once(egress, 'listening');
    const egressUrl = `http://127.0.0.1:${(egress.address() as AddressInfo).port}`;
    const proxy = await startTestProxy(
      { routes: [{ prefix: '/ext', provider: 'openai', upstream: 'http://llm.example.internal:8080' }] },
      { env: { HTTP_PROXY: egressUrl } },
    );
    cleanups.push(async () => {
      await proxy.drain(200);
      egress.closeAllConnections();
      egress.close();
    });
    const response = await rawRequest(`${proxy.dataUrl}/ext/v1/models`);
    expect(response.body.toString()).toBe('via egress proxy');
    expect(seen).toEqual(['http://llm.example.internal:8080/v1/models']);
  });
});

describe('drain', () => {
  it('turns readiness to 503 at once, lets the in-flight stream finish, then stops', async () => {
    // The stream's last events wait for release(): it is still in flight when readiness is checked.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 5; i += 1) {
        if (i === 2) await released;
        res.write(`data: {"i":${i}}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
    const proxy = await setup(upstream);
    expect((await rawRequest(`${proxy.adminUrl}/readyz`)).status).toBe(200);
    const res = await open(`${proxy.dataUrl}/up/v1/chat/completions`);
    let text = '';
    res.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const ended = once(res, 'end');
    const drained = proxy.drain(5000);
    const readiness = await rawRequest(`${proxy.adminUrl}/readyz`).catch(() => undefined);
    expect(readiness?.status).toBe(503);
    release();
    await ended;
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect((await drained).cut).toBe(0);
    await expect(rawRequest(`${proxy.dataUrl}/up/v1/models`)).rejects.toThrow();
  });
});
