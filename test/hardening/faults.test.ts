/**
 * Fault injection through the whole product: the upstream resets, never answers, answers then stalls, cannot be
 * connected to, sends malformed responses; the client goes away at every stage; slow clients and slowloris.
 * Each case asserts its outcome (status, bytes, how the stream ended, what the upstream saw, the log line) and
 * that llmtap keeps serving afterwards.
 */
import { once } from 'node:events';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import {
  type AddressInfo,
  createServer as createTcpServer,
  connect as netConnect,
  type Socket,
  type Server as TcpServer,
} from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awaitingUpstreamHead } from '../../src/proxy/socket-policy.ts';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import {
  type CountingUpstream,
  errorCodeOf,
  portOf,
  rawExchange,
  sleep,
  startCountingUpstream,
  waitUntil,
} from './helpers.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const chatBody = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'hi' }],
});
const event = (i: number): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`;

interface Setup {
  readonly app: TestLlmtap;
  readonly upstream: CountingUpstream;
  readonly base: string;
}

const setup = async (
  handler: Parameters<typeof startCountingUpstream>[0],
  file: Record<string, unknown> = {},
  route: Record<string, unknown> = {},
): Promise<Setup> => {
  const upstream = await startCountingUpstream(handler);
  const app = await startFullLlmtap({
    routes: [
      { prefix: '/up', provider: 'openai', upstream: upstream.url, streamUsage: 'passthrough', ...route },
    ],
    ...file,
  });
  cleanups.push(async () => {
    await app.shutdown();
    await upstream.close();
  });
  return { app, upstream, base: `${app.server.dataUrl}/up` };
};

/** Opens a streaming POST and resolves with the response as soon as its head arrives. */
const open = (url: string, body = chatBody): Promise<{ res: IncomingMessage; req: ClientRequest }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) =>
      resolve({ res, req }),
    );
    req.on('error', reject);
    req.end(body);
  });

/** Reads a response to its end and says how it ended: a clean end, or a failure (reset/abort). */
const readAll = (res: IncomingMessage): Promise<{ text: string; ending: 'clean' | 'failed' }> =>
  new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (ending: 'clean' | 'failed'): void => {
      if (done) return;
      done = true;
      resolve({ text, ending });
    };
    res.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    res.on('end', () => finish(res.complete ? 'clean' : 'failed'));
    res.on('error', () => finish('failed'));
    res.on('aborted', () => finish('failed'));
    res.on('close', () => finish(res.complete ? 'clean' : 'failed'));
  });

/** After a fault, llmtap still answers a normal call on the same listener. */
const expectStillServing = async (s: Setup): Promise<void> => {
  s.upstream.setHandler((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"still":"serving"}');
  });
  const answer = await rawRequest(`${s.base}/v1/models`);
  expect(answer.status).toBe(200);
  expect(answer.body.toString()).toBe('{"still":"serving"}');
};

const lastRequestLog = async (s: Setup, count: number): Promise<Record<string, unknown>> => {
  expect(await waitUntil(() => s.app.requestLogs().length >= count, 3000)).toBe(true);
  return s.app.requestLogs()[count - 1] as Record<string, unknown>;
};

describe('upstream faults', () => {
  it('upstream reset mid-stream: the client gets the bytes sent so far and a failed stream, never a clean end', async () => {
    const s = await setup(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event(0));
      res.write(event(1));
      await sleep(30);
      res.socket?.resetAndDestroy();
    });
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(ending).toBe('failed');
    expect(text).toBe(event(0) + event(1));
    const log = await lastRequestLog(s, 1);
    expect(log.status).toBe(200);
    expect(log.outcome).toBe('incomplete');
    expect(typeof log.errorType).toBe('string');
    await expectStillServing(s);
  });

  it('upstream closes a Content-Length response early: the client sees a truncated, failed response', async () => {
    const s = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { res } = await open(`${s.base}/v1/chat/completions`, '{"model":"m"}');
    const { text, ending } = await readAll(res);
    expect(ending).toBe('failed');
    expect(text).toBe('{"partial":');
    await expectStillServing(s);
  });

  it('upstream sends a malformed chunked response mid-stream: the client sees the stream fail', async () => {
    const tcp = createTcpServer((socket) => {
      socket.once('data', () => {
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${Buffer.byteLength(event(0)).toString(16)}\r\n${event(0)}\r\nzz\r\ngarbage\r\n`,
        );
      });
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const app = await startFullLlmtap({
      routes: [
        {
          prefix: '/bad',
          provider: 'openai',
          upstream: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
          streamUsage: 'passthrough',
        },
      ],
    });
    cleanups.push(async () => {
      await app.shutdown();
      tcp.close();
    });
    const { res } = await open(`${app.server.dataUrl}/bad/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(ending).toBe('failed');
    expect(text).toBe(event(0));
  });

  it('upstream response headers over the limit: 502, and llmtap keeps serving', async () => {
    const s = await setup((_req, res) => {
      res.writeHead(200, { 'x-huge': 'a'.repeat(200_000) });
      res.end('{}');
    });
    const answer = await rawRequest(`${s.base}/v1/models`);
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body.toString()).error.type).toBe('llmtap_upstream_error');
    await expectStillServing(s);
  });

  it('upstream never answers: 504 LLMTAP_UPSTREAM_TIMEOUT after timeouts.upstreamHeadersMs', async () => {
    const s = await setup(() => undefined, { timeouts: { upstreamHeadersMs: 300 } });
    const answer = await rawRequest(`${s.base}/v1/chat/completions`, { method: 'POST', body: chatBody });
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body.toString()).error.code).toBe('LLMTAP_UPSTREAM_TIMEOUT');
    // The cause, not the elapsed time (the default upstreamHeadersMs, 10 min, would outlast the test).
    const log = await lastRequestLog(s, 1);
    expect(log.error).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('upstream answers then stalls: the idle timeout cuts the stream as a failure and closes the upstream connection', async () => {
    let upstreamSocketClosed = false;
    const s = await setup(
      (req, res) => {
        req.socket.once('close', () => {
          upstreamSocketClosed = true;
        });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(event(0));
        // …and nothing more, ever.
      },
      { timeouts: { idleMs: 400 } },
    );
    // Nothing but the 400 ms idle timeout can end this stream within the test (the default is 10 min).
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(ending).toBe('failed');
    expect(text).toBe(event(0));
    expect(await waitUntil(() => upstreamSocketClosed)).toBe(true);
    await expectStillServing(s);
  });

  it("a route's idleTimeoutMs overrides the global idle timeout", async () => {
    const s = await setup(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(event(0));
      },
      // The global one outlasts the test: only the route's can end the stream.
      { timeouts: { idleMs: 600_000 } },
      { idleTimeoutMs: 400 },
    );
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { ending } = await readAll(res);
    expect(ending).toBe('failed');
  });

  it('no total-duration cap: a stream longer than several idle timeouts completes while bytes keep flowing', async () => {
    const s = await setup(
      async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < 12; i += 1) {
          res.write(event(i));
          await sleep(150);
        }
        res.end('data: [DONE]\n\n');
      },
      { timeouts: { idleMs: 400 } },
    );
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(ending).toBe('clean');
    expect(text).toBe(`${Array.from({ length: 12 }, (_, i) => event(i)).join('')}data: [DONE]\n\n`);
  });

  it('upstream connect timeout (TLS handshake never answered): 504 after timeouts.connectMs', async () => {
    // A TCP server that accepts and then says nothing: the TLS handshake never completes.
    const held: Socket[] = [];
    const blackhole: TcpServer = createTcpServer((socket) => {
      held.push(socket);
    });
    blackhole.listen(0, '127.0.0.1');
    await once(blackhole, 'listening');
    const app = await startFullLlmtap({
      routes: [
        {
          prefix: '/hole',
          provider: 'openai',
          upstream: `https://127.0.0.1:${(blackhole.address() as AddressInfo).port}`,
        },
      ],
      timeouts: { connectMs: 300 },
    });
    cleanups.push(async () => {
      await app.shutdown();
      for (const socket of held) socket.destroy();
      blackhole.close();
    });
    const started = Date.now();
    const answer = await rawRequest(`${app.server.dataUrl}/hole/v1/models`);
    expect(answer.status).toBe(504);
    expect(JSON.parse(answer.body.toString()).error.code).toBe('LLMTAP_UPSTREAM_TIMEOUT');
    // The configured 300 ms and not the 10 s default (both are connect timeouts: only the time tells them apart).
    expect(Date.now() - started).toBeLessThan(9000);
  });

  it('upstream refuses connections: 502 LLMTAP_UPSTREAM_CONNECT', async () => {
    const gone = await startCountingUpstream();
    const url = gone.url;
    await gone.close();
    const app = await startFullLlmtap({ routes: [{ prefix: '/gone', provider: 'openai', upstream: url }] });
    cleanups.push(() => app.shutdown());
    const answer = await rawRequest(`${app.server.dataUrl}/gone/v1/chat/completions`, {
      method: 'POST',
      body: chatBody,
    });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body.toString()).error.code).toBe('LLMTAP_UPSTREAM_CONNECT');
  });
});

describe('slow and vanishing clients', () => {
  it('slowloris: headers trickled one byte at a time are cut with 408 after timeouts.headersMs; nothing goes upstream', async () => {
    const s = await setup(undefined, { timeouts: { headersMs: 500 } });
    const port = portOf(s.app.server.dataUrl);
    const headBytes = `GET /up/v1/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
    // The client gives up after 20 s, before the default headersMs (30 s): only the configured 500 ms answers 408.
    const answer = await rawExchange(port, headBytes.split(''), { gapMs: 20, timeoutMs: 20_000 });
    expect(answer.closed).toBe(true);
    expect(answer.status).toBe(408);
    expect(errorCodeOf(answer.text)).toBe('LLMTAP_REQUEST_TIMEOUT');
    expect(s.upstream.connections()).toBe(0);
  });

  it('a client that stalls in the middle of a small body is cut by the idle timeout; nothing goes upstream', async () => {
    const s = await setup(undefined, { timeouts: { idleMs: 400 } });
    const port = portOf(s.app.server.dataUrl);
    const answer = await rawExchange(
      port,
      [
        `POST /up/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 1000\r\n\r\n{"model":`,
      ],
      { timeoutMs: 3000 },
    );
    expect(answer.closed).toBe(true);
    expect(s.upstream.connections()).toBe(0);
  });

  it('a client that stalls in the middle of a large (streamed) body: the upstream request is aborted, never completed', async () => {
    const s = await setup(undefined, { timeouts: { idleMs: 400 } });
    const port = portOf(s.app.server.dataUrl);
    const answer = await rawExchange(
      port,
      [
        `POST /up/v1/files HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 4000000\r\n\r\n`,
        Buffer.alloc(600_000, 97),
      ],
      { timeoutMs: 3000 },
    );
    expect(answer.closed).toBe(true);
    // Positive first: the upstream request's connection was closed (aborted), then: it never completed.
    expect(await waitUntil(() => s.upstream.connections() > 0 && s.upstream.openConnections() === 0)).toBe(
      true,
    );
    expect(s.upstream.completed).toHaveLength(0);
  });

  /** Stages at which the client goes away, and what the upstream must have seen by then. */
  const stages = [
    'during the request head',
    'during the request body',
    'after the request, before response headers',
    'after response headers, before the first body byte',
    'in the middle of the response body',
  ] as const;

  for (const [index, stage] of stages.entries()) {
    it(`client disconnects ${stage}: upstream released, call logged, llmtap keeps serving`, async () => {
      let release: (() => void) | undefined;
      const s = await setup(async (_req, res) => {
        if (index === 2) {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        if (index === 3) return;
        // Until llmtap lets go: a stream that ended on its own would free its connection for keep-alive, and its
        // closing would prove nothing.
        for (let i = 0; !res.destroyed; i += 1) {
          res.write(event(i));
          await sleep(10);
        }
      });
      cleanups.push(async () => release?.());
      const port = portOf(s.app.server.dataUrl);
      const big = 1_000_000;
      const socket = await new Promise<Socket>((resolve) => {
        const sock: Socket = netConnect(port, '127.0.0.1', () => resolve(sock));
      });
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => undefined);
      const headOf = (length: number): string =>
        `POST /up/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
      if (index === 0) {
        socket.write(headOf(chatBody.length).slice(0, 30));
        await sleep(50);
      } else if (index === 1) {
        socket.write(headOf(big));
        socket.write(Buffer.alloc(300_000, 32));
        await sleep(100);
      } else {
        socket.write(headOf(chatBody.length) + chatBody);
        if (index === 2) await waitUntil(() => s.upstream.completed.length === 1, 2000);
        if (index === 3) await waitUntil(() => Buffer.concat(received).includes('\r\n\r\n'), 2000);
        if (index === 4) await waitUntil(() => Buffer.concat(received).toString().includes('"t3"'), 2000);
      }
      socket.destroy();
      // The one upstream connection of this call: its upstream never ends the call by itself, so it closes only
      // when llmtap aborts it (undici would keep a healthy one alive).
      if (index >= 1) {
        expect(
          await waitUntil(() => s.upstream.connections() > 0 && s.upstream.openConnections() === 0),
        ).toBe(true);
      }
      if (index >= 2) {
        const log = await lastRequestLog(s, 1);
        expect(log.error).toBe('CLIENT_ABORTED');
      }
      expect(s.upstream.completed.every((r) => r.body.length < big)).toBe(true);
      await expectStillServing(s);
      // A half-sent head never reaches the upstream: the request after it (a barrier) is the only one there.
      if (index === 0) expect(s.upstream.requestStarts()).toBe(1);
      // Nothing is left in flight: drain finds no stream to cut.
      expect((await s.app.shutdown()).cut).toBe(0);
    });
  }
});

describe('slow readers (whole product, tap engaged)', () => {
  it('a client that stops reading pauses its upstream instead of llmtap buffering the stream', async () => {
    const piece = Buffer.from(`data: {"choices":[{"delta":{"content":"${'x'.repeat(16_000)}"}}]}\n\n`);
    const total = 48 * 1024 * 1024;
    let written = 0;
    const s = await setup(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      while (written < total && !res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) await once(res, 'drain');
      }
      res.end();
    });
    const { res } = await open(`${s.base}/v1/chat/completions`);
    res.pause();
    let last = -1;
    for (let i = 0; i < 50 && written !== last; i += 1) {
      last = written;
      await sleep(300);
    }
    expect(written).toBe(last);
    // Loopback socket buffers hold a few MiB each way; llmtap itself holds about one chunk.
    expect(written).toBeLessThan(24 * 1024 * 1024);
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    res.resume();
    await once(res, 'end');
    expect(received).toBe(written);
  });
});

describe('per-route idle timeout on kept-alive connections', () => {
  it("a short route's idle timeout does not carry over to the next request on the same connection", async () => {
    const upstream = await startCountingUpstream(async (req, res) => {
      // The default route answers after 800 ms: longer than the short route's idle timeout.
      if (req.url?.startsWith('/slow') === true) await sleep(800);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const app = await startFullLlmtap({
      routes: [
        { prefix: '/short', provider: 'openai-compatible', upstream: upstream.url, idleTimeoutMs: 300 },
        { prefix: '/default', provider: 'openai-compatible', upstream: `${upstream.url}/slow` },
      ],
      timeouts: { idleMs: 60_000 },
    });
    cleanups.push(async () => {
      await app.shutdown();
      await upstream.close();
    });
    const port = portOf(app.server.dataUrl);
    const host = `127.0.0.1:${port}`;
    const answer = await rawExchange(
      port,
      [
        `GET /short/v1/models HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        `GET /default/v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ],
      { gapMs: 100, timeoutMs: 4000 },
    );
    expect(answer.text.match(/HTTP\/1\.1 200/g)?.length).toBe(2);
  });
});

describe('ambiguous upstream responses are never passed on as something else', () => {
  const cases: readonly { name: string; response: string }[] = [
    {
      name: 'Content-Length and Transfer-Encoding together',
      response:
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    },
    {
      name: 'two different Content-Length values',
      response:
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 7\r\n\r\n{}',
    },
    {
      name: 'an obs-folded header',
      response:
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-folded: a\r\n b\r\ncontent-length: 2\r\n\r\n{}',
    },
    {
      name: 'a NUL in a header value',
      response:
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-nul: a\u0000b\r\ncontent-length: 2\r\n\r\n{}',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: 502 llmtap_upstream_error`, async () => {
      const tcp = createTcpServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end(c.response));
      });
      tcp.listen(0, '127.0.0.1');
      await once(tcp, 'listening');
      const app = await startFullLlmtap({
        routes: [
          {
            prefix: '/odd',
            provider: 'openai',
            upstream: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
          },
        ],
      });
      cleanups.push(async () => {
        await app.shutdown();
        tcp.close();
      });
      const answer = await rawRequest(`${app.server.dataUrl}/odd/v1/models`);
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.body.toString()).error.type).toBe('llmtap_upstream_error');
    });
  }
});

describe('waiting for the first response byte is governed by upstreamHeadersMs, not idleMs', () => {
  it('a model that thinks longer than the idle timeout before its headers is still answered', async () => {
    const s = await setup(
      async (_req, res) => {
        await sleep(900);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`${event(0)}data: [DONE]\n\n`);
      },
      { timeouts: { idleMs: 300, upstreamHeadersMs: 5000 } },
    );
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(res.statusCode).toBe(200);
    expect(ending).toBe('clean');
    expect(text).toBe(`${event(0)}data: [DONE]\n\n`);
  });

  it('once the head is out after a long wait, an idle stream is cut by the idle timeout again', async () => {
    const s = await setup(
      async (_req, res) => {
        await sleep(900);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(event(0));
        // …and then nothing, ever.
      },
      { timeouts: { idleMs: 300, upstreamHeadersMs: 5000 } },
    );
    // Only a re-armed idle timer can end this stream within the test.
    const { res } = await open(`${s.base}/v1/chat/completions`);
    const { text, ending } = await readAll(res);
    expect(text).toBe(event(0));
    expect(ending).toBe('failed');
  });

  it('a call that ends before its head (upstream timeout) leaves its socket under the idle rules', async () => {
    const s = await setup(() => undefined, { timeouts: { idleMs: 60_000, upstreamHeadersMs: 200 } });
    const sockets: Socket[] = [];
    s.app.server.dataServer.on('connection', (socket: Socket) => sockets.push(socket));
    const answer = await rawRequest(`${s.base}/v1/chat/completions`, { method: 'POST', body: chatBody });
    expect(answer.status).toBe(504);
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) expect(awaitingUpstreamHead(socket)).toBe(false);
  });
});

describe('client disconnects before the upstream request exists', () => {
  it('while llmtap is still connecting (TLS handshake pending): the call ends at once; the attempt ends by connectMs', async () => {
    const held: Socket[] = [];
    let closed = false;
    const blackhole: TcpServer = createTcpServer((socket) => {
      held.push(socket);
      socket.on('error', () => undefined);
      // Flowing, so the peer's FIN is noticed (a paused socket never emits 'end'/'close').
      socket.resume();
      socket.once('close', () => {
        closed = true;
      });
    });
    blackhole.listen(0, '127.0.0.1');
    await once(blackhole, 'listening');
    const app = await startFullLlmtap({
      routes: [
        {
          prefix: '/hole',
          provider: 'openai',
          upstream: `https://127.0.0.1:${(blackhole.address() as AddressInfo).port}`,
        },
      ],
      timeouts: { connectMs: 1000 },
    });
    cleanups.push(async () => {
      await app.shutdown();
      for (const socket of held) socket.destroy();
      blackhole.close();
    });
    const req = request(`${app.server.dataUrl}/hole/v1/chat/completions`, { method: 'POST' });
    req.on('error', () => undefined);
    req.end(chatBody);
    expect(await waitUntil(() => held.length === 1, 2000)).toBe(true);
    req.destroy();
    // The call is over for llmtap…
    expect(await waitUntil(() => app.requestLogs().length === 1)).toBe(true);
    expect(app.requestLogs()[0]?.error).toBe('CLIENT_ABORTED');
    // …and the half-open connection attempt is closed (by the connect timeout: the blackhole never closes it).
    expect(await waitUntil(() => closed)).toBe(true);
  });

  it('during the chunked read-ahead: nothing reaches the upstream, and llmtap keeps serving', async () => {
    const s = await setup(undefined);
    const port = portOf(s.app.server.dataUrl);
    const socket = await new Promise<Socket>((resolve) => {
      const sock: Socket = netConnect(port, '127.0.0.1', () => resolve(sock));
    });
    socket.on('error', () => undefined);
    socket.write(
      `POST /up/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"model":"gpt-4o`,
    );
    await sleep(100);
    socket.destroy();
    // A barrier, not a wait: the request after it is the only one the upstream ever saw.
    await expectStillServing(s);
    expect(s.upstream.requestStarts()).toBe(1);
  });
});

describe('informational upstream responses', () => {
  it('a 103 Early Hints before the answer: the client gets the final response whole', async () => {
    const tcp = createTcpServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}',
        ),
      );
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const app = await startFullLlmtap({
      routes: [
        {
          prefix: '/e',
          provider: 'openai',
          upstream: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
        },
      ],
    });
    cleanups.push(async () => {
      await app.shutdown();
      tcp.close();
    });
    const answer = await rawRequest(`${app.server.dataUrl}/e/v1/models`);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('{"ok":true}');
  });
});

describe('response headers are the upstream’s', () => {
  it('no Date header is added when the upstream sent none (HTTP/1.0, close-delimited body)', async () => {
    const tcp = createTcpServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () =>
        socket.end('HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{"ok":true}'),
      );
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const app = await startFullLlmtap({
      routes: [
        {
          prefix: '/e',
          provider: 'openai',
          upstream: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
        },
      ],
    });
    cleanups.push(async () => {
      await app.shutdown();
      tcp.close();
    });
    const answer = await rawRequest(`${app.server.dataUrl}/e/v1/models`);
    expect(answer.body.toString()).toBe('{"ok":true}');
    expect(answer.headers.date).toBeUndefined();
    expect(answer.headers['content-type']).toBe('application/json');
  });
});

describe('WebSocket pass-through faults', () => {
  it('an upgrade to an upstream that refuses connections closes the client socket; llmtap keeps serving', async () => {
    const gone = await startCountingUpstream();
    const goneUrl = gone.url;
    await gone.close();
    const s = await setup(undefined);
    const app = await startFullLlmtap({
      routes: [{ prefix: '/ws', provider: 'openai', upstream: goneUrl }],
    });
    cleanups.push(() => app.shutdown());
    const port = portOf(app.server.dataUrl);
    const answer = await rawExchange(
      port,
      [
        `GET /ws/v1/realtime HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ],
      { timeoutMs: 3000 },
    );
    expect(answer.closed).toBe(true);
    expect(answer.status === undefined || answer.status >= 400).toBe(true);
    expect((await rawRequest(`${app.server.dataUrl}/ws/v1/models`)).status).toBe(502);
    await expectStillServing(s);
  });
});

describe('WebSocket resets', () => {
  for (const side of ['client', 'upstream'] as const) {
    it(`a reset from the ${side} after the 101 closes the tunnel without an error escaping; llmtap keeps serving`, async () => {
      const upstreamSockets: Socket[] = [];
      const tcp = createTcpServer((socket) => {
        upstreamSockets.push(socket);
        socket.on('error', () => undefined);
        socket.once('data', () =>
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nhello',
          ),
        );
      });
      tcp.listen(0, '127.0.0.1');
      await once(tcp, 'listening');
      const app = await startFullLlmtap({
        routes: [
          {
            prefix: '/ws',
            provider: 'openai',
            upstream: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
          },
        ],
      });
      cleanups.push(async () => {
        await app.shutdown();
        for (const socket of upstreamSockets) socket.destroy();
        tcp.close();
      });
      const port = portOf(app.server.dataUrl);
      const client = netConnect(port, '127.0.0.1');
      client.on('error', () => undefined);
      await once(client, 'connect');
      let received = '';
      client.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      client.write(
        `GET /ws/v1/realtime HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      expect(await waitUntil(() => received.endsWith('hello'), 2000)).toBe(true);
      expect(received.startsWith('HTTP/1.1 101')).toBe(true);
      if (side === 'client') client.resetAndDestroy();
      else upstreamSockets.at(-1)?.resetAndDestroy();
      await sleep(200);
      expect((await rawRequest(`${app.server.dataUrl}/nowhere`)).status).toBe(404);
      client.destroy();
    });
  }
});
