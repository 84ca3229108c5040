/**
 * Strict HTTP and "not an open proxy", through the whole product, with raw sockets: every ambiguous or
 * hostile request is refused and the upstream sees zero connections — not merely zero completed requests.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import {
  type CountingUpstream,
  errorCodeOf,
  portOf,
  rawExchange,
  startCountingUpstream,
  waitUntil,
} from './helpers.ts';

let upstream: CountingUpstream;
let app: TestLlmtap;
let port: number;
let host: string;

beforeAll(async () => {
  upstream = await startCountingUpstream();
  app = await startFullLlmtap({
    routes: [{ prefix: '/up', provider: 'openai-compatible', upstream: upstream.url }],
    limits: { maxHeaderBytes: 16_384 },
  });
  port = portOf(app.server.dataUrl);
  host = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await app.shutdown();
  await upstream.close();
});

let baseline = { connections: 0, starts: 0 };
beforeEach(() => {
  baseline = { connections: upstream.connections(), starts: upstream.requestStarts() };
});

/**
 * Nothing reached the upstream since the test began: no request head (and at most the barrier's connection). A
 * barrier instead of a wait: a good request sent now is dispatched after anything llmtap forwarded before it, so
 * once its answer is back, a wrongly forwarded request would have been counted.
 */
const expectUntouchedUpstream = async (): Promise<void> => {
  expect((await rawRequest(`${app.server.dataUrl}/up/v1/models`)).status).toBe(200);
  expect(upstream.requestStarts() - baseline.starts).toBe(1);
  expect(upstream.connections() - baseline.connections).toBeLessThanOrEqual(1);
  baseline = { connections: upstream.connections(), starts: upstream.requestStarts() };
};

const body = '{"model":"m","messages":[]}';

const head = (lines: readonly string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

/** `payload` as chunked encoding in pieces of `size` bytes. */
const chunked = (payload: Buffer, size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < payload.length; at += size) {
    const piece = payload.subarray(at, at + size);
    out.push(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
  }
  return out;
};

describe('the counting upstream sees a valid request (the zero checks below can fail)', () => {
  it('forwards a well-formed POST', async () => {
    const answer = await rawExchange(port, [
      `POST /up/v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    ]);
    expect(answer.status).toBe(200);
    expect(await waitUntil(() => upstream.requestStarts() - baseline.starts === 1)).toBe(true);
    expect(upstream.completed.at(-1)?.body.toString()).toBe(body);
  });

  it('forwards a well-formed chunked POST, re-framed, with the same body bytes', async () => {
    const answer = await rawExchange(port, [
      `POST /up/v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `5\r\n${body.slice(0, 5)}\r\n`,
      `${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`,
    ]);
    expect(answer.status).toBe(200);
    expect(upstream.completed.at(-1)?.body.toString()).toBe(body);
  });

  it('streams a chunked body larger than the read-ahead (1 MiB) to the upstream byte for byte', async () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 31 + 7) % 251;
    const answer = await rawExchange(
      port,
      [
        head([
          'POST /up/v1/files HTTP/1.1',
          `Host: ${host}`,
          'Transfer-Encoding: chunked',
          'Connection: close',
        ]),
        Buffer.concat([...chunked(payload, 16_384), Buffer.from('0\r\n\r\n')]),
      ],
      { timeoutMs: 5000 },
    );
    expect(answer.status).toBe(200);
    expect(upstream.completed.at(-1)?.body.equals(payload)).toBe(true);
  });

  it('a bad chunk after the read-ahead aborts the streamed upstream request: it never completes', async () => {
    const payload = Buffer.alloc(512 * 1024, 120);
    const completedBefore = upstream.completed.length;
    const answer = await rawExchange(
      port,
      [
        head(['POST /up/v1/files HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked']),
        Buffer.concat([...chunked(payload, 16_384), Buffer.from('zz\r\nabc\r\n0\r\n\r\n')]),
      ],
      { timeoutMs: 5000 },
    );
    expect(answer.status).toBe(400);
    expect(errorCodeOf(answer.text)).toBe('LLMTAP_BAD_REQUEST');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.completed.length).toBe(completedBefore);
  });
});

interface RefusalCase {
  readonly name: string;
  /** Built when the test runs: the ports are known only then. */
  readonly parts: () => readonly string[];
  readonly status: number;
  readonly code?: string;
}

const framingCases: readonly RefusalCase[] = [
  {
    name: 'CL.TE: Content-Length and Transfer-Encoding together',
    parts: () => [
      `${head([
        'POST /up/v1/chat/completions HTTP/1.1',
        `Host: ${host}`,
        'Content-Length: 35',
        'Transfer-Encoding: chunked',
      ])}0\r\n\r\nGET /up/v1/smuggled HTTP/1.1\r\nX: y`,
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'TE.CL: Transfer-Encoding before Content-Length',
    parts: () => [
      `${head([
        'POST /up/v1/chat/completions HTTP/1.1',
        `Host: ${host}`,
        'Transfer-Encoding: chunked',
        'Content-Length: 4',
      ])}5c\r\nGET /up/v1/smuggled HTTP/1.1\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n`,
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'duplicate Content-Length with different values',
    parts: () => [
      `${head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Content-Length: 3', 'Content-Length: 5'])}abcde`,
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'duplicate Content-Length with equal values',
    parts: () => [
      `${head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Content-Length: 3', 'Content-Length: 3'])}abc`,
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'Content-Length list "3, 3"',
    parts: () => [`${head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Content-Length: 3, 3'])}abc`],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'negative Content-Length',
    parts: () => [`${head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Content-Length: -1'])}abc`],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'TE.TE: obfuscated Transfer-Encoding "xchunked"',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: xchunked']) +
        '3\r\nabc\r\n0\r\n\r\n',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'TE.TE: "chunked, identity" (chunked not last)',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked, identity']) +
        '3\r\nabc\r\n0\r\n\r\n',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'space before the colon of Transfer-Encoding',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding : chunked', 'Content-Length: 3']) +
        'abc',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'obs-fold (a header continued on the next line)',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, 'X-Folded: a', ' b'])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'bare CR inside a header value',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, 'X-Inject: a\rInjected: b'])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'NUL inside a header value',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, 'X-Nul: a\u0000b'])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'invalid chunk size',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked']) +
        '3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'chunk size that overflows 64 bits',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked']) +
        'fffffffffffffffffff\r\nabc\r\n',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'chunk data longer than its size (missing CRLF)',
    parts: () => [
      head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked']) +
        '3\r\nabcdef\r\n0\r\n\r\n',
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'an oversized chunk extension',
    parts: () => [
      `${head(['POST /up/v1/x HTTP/1.1', `Host: ${host}`, 'Transfer-Encoding: chunked'])}3;ext=${'e'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`,
    ],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  // The HTTP/2 preface now starts an h2c session on the same port (test/proxy/h2c.test.ts covers a preface
  // followed by garbage: GOAWAY, closed, nothing upstream).
  {
    name: 'HTTP/1.1 without Host',
    parts: () => [head(['GET /up/v1/models HTTP/1.1'])],
    status: 400,
  },
  {
    name: 'request headers over maxHeaderBytes',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, `X-Big: ${'a'.repeat(20_000)}`])],
    status: 431,
  },
];

describe('ambiguous framing is refused with 400 and never reaches the upstream', () => {
  for (const c of framingCases) {
    it(c.name, async () => {
      const answer = await rawExchange(port, c.parts(), { timeoutMs: 3000 });
      expect(answer.status).toBe(c.status);
      if (c.code !== undefined) expect(errorCodeOf(answer.text)).toBe(c.code);
      expect(answer.closed).toBe(true);
      await expectUntouchedUpstream();
    });
  }
});

const openProxyCases: readonly RefusalCase[] = [
  {
    name: 'absolute-form target naming the configured upstream itself',
    parts: () => [head([`GET ${upstream.url}/up/v1/models HTTP/1.1`, `Host: ${host}`])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'absolute-form target naming a foreign host (cloud metadata)',
    parts: () => [head(['GET http://169.254.169.254/latest/meta-data/ HTTP/1.1', 'Host: 169.254.169.254'])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'asterisk-form OPTIONS *',
    parts: () => [head(['OPTIONS * HTTP/1.1', `Host: ${host}`])],
    status: 400,
    code: 'LLMTAP_BAD_REQUEST',
  },
  {
    name: 'CONNECT to the upstream',
    parts: () => [head([`CONNECT 127.0.0.1:${upstream.port} HTTP/1.1`, `Host: 127.0.0.1:${upstream.port}`])],
    status: 405,
    code: 'LLMTAP_METHOD_NOT_ALLOWED',
  },
  {
    name: 'foreign Host (DNS rebinding)',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', 'Host: attacker.example'])],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_HOST',
  },
  {
    name: 'Host that starts like loopback: localhost.attacker.example',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', 'Host: localhost.attacker.example'])],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_HOST',
  },
  {
    name: 'Host that starts like loopback: 127.0.0.1.nip.io',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', 'Host: 127.0.0.1.nip.io'])],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_HOST',
  },
  {
    name: 'Host with userinfo: localhost@attacker.example',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', 'Host: localhost@attacker.example'])],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_HOST',
  },
  {
    name: 'browser Origin on a route that allows none',
    parts: () => [
      `${head([
        'POST /up/v1/chat/completions HTTP/1.1',
        `Host: ${host}`,
        'Origin: https://attacker.example',
        'Content-Length: 2',
      ])}{}`,
    ],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_ORIGIN',
  },
  {
    name: 'Origin: null (sandboxed iframe, file://)',
    parts: () => [head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, 'Origin: null'])],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_ORIGIN',
  },
  {
    name: 'WebSocket upgrade with a foreign Host',
    parts: () => [
      head([
        'GET /up/v1/realtime HTTP/1.1',
        'Host: attacker.example',
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ]),
    ],
    status: 403,
  },
  {
    name: 'WebSocket upgrade with a browser Origin',
    parts: () => [
      head([
        'GET /up/v1/realtime HTTP/1.1',
        `Host: ${host}`,
        'Origin: https://attacker.example',
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ]),
    ],
    status: 403,
  },
  {
    name: 'a refused request pipelined ahead of a valid one (the connection closes after the refusal)',
    parts: () => [
      head(['GET /up/v1/models HTTP/1.1', 'Host: attacker.example']) +
        head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`]),
    ],
    status: 403,
    code: 'LLMTAP_FORBIDDEN_HOST',
  },
  {
    name: 'a path that is no route: //attacker.example/x',
    parts: () => [head(['GET //attacker.example/x HTTP/1.1', `Host: ${host}`])],
    status: 404,
    code: 'LLMTAP_NO_ROUTE',
  },
  {
    name: 'a prefix without a segment boundary: /up@attacker.example/x',
    parts: () => [head(['GET /up@attacker.example/x HTTP/1.1', `Host: ${host}`])],
    status: 404,
    code: 'LLMTAP_NO_ROUTE',
  },
];

describe('llmtap is not an open proxy: each case is refused and the upstream sees nothing', () => {
  for (const c of openProxyCases) {
    it(c.name, async () => {
      const answer = await rawExchange(port, c.parts(), { timeoutMs: 3000 });
      expect(answer.status).toBe(c.status);
      if (c.code !== undefined) expect(errorCodeOf(answer.text)).toBe(c.code);
      // A single response: nothing after the refusal was served on this connection.
      expect(answer.text.match(/HTTP\/1\.1 \d{3}/g)?.length).toBe(1);
      await expectUntouchedUpstream();
    });
  }

  it('upstream redirects reach the client as sent and are never followed', async () => {
    let followed = 0;
    upstream.setHandler((req, res) => {
      if (req.url?.startsWith('/elsewhere') === true) {
        followed += 1;
        res.end('followed');
        return;
      }
      res.writeHead(302, { location: `http://127.0.0.1:${upstream.port}/elsewhere` });
      res.end();
    });
    try {
      const answer = await rawExchange(port, [
        head(['GET /up/v1/models HTTP/1.1', `Host: ${host}`, 'Connection: close']),
      ]);
      expect(answer.status).toBe(302);
      expect(answer.text).toContain(`location: http://127.0.0.1:${upstream.port}/elsewhere`);
      expect(followed).toBe(0);
      expect(upstream.requestStarts() - baseline.starts).toBe(1);
    } finally {
      upstream.setHandler((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    }
  });
});

describe('browser origins a route allows', () => {
  it('are served on that route only', async () => {
    const withOrigin = await startFullLlmtap({
      routes: [
        {
          prefix: '/web',
          provider: 'openai-compatible',
          upstream: upstream.url,
          allowedOrigins: ['https://app.example'],
        },
        { prefix: '/up', provider: 'openai-compatible', upstream: upstream.url },
      ],
    });
    try {
      const p = portOf(withOrigin.server.dataUrl);
      const allowed = await rawExchange(p, [
        head([
          'GET /web/v1/models HTTP/1.1',
          `Host: 127.0.0.1:${p}`,
          'Origin: https://app.example',
          'Connection: close',
        ]),
      ]);
      expect(allowed.status).toBe(200);
      const elsewhere = await rawExchange(p, [
        head([
          'GET /up/v1/models HTTP/1.1',
          `Host: 127.0.0.1:${p}`,
          'Origin: https://app.example',
          'Connection: close',
        ]),
      ]);
      expect(elsewhere.status).toBe(403);
      const other = await rawExchange(p, [
        head([
          'GET /web/v1/models HTTP/1.1',
          `Host: 127.0.0.1:${p}`,
          'Origin: https://app.example.evil',
          'Connection: close',
        ]),
      ]);
      expect(other.status).toBe(403);
    } finally {
      await withOrigin.shutdown();
    }
  });
});

describe('header limits', () => {
  it('many small headers within maxHeaderBytes are all forwarded (none silently dropped)', async () => {
    // An upstream that itself accepts large and many headers (Node's defaults: 16 KiB, first 2,000 kept).
    let receivedNames: string[] = [];
    const wideUpstream = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
      receivedNames = Object.keys(req.headers);
      res.end('ok');
    });
    wideUpstream.maxHeadersCount = 0;
    wideUpstream.listen(0, '127.0.0.1');
    await once(wideUpstream, 'listening');
    const wide = await startFullLlmtap({
      routes: [
        {
          prefix: '/up',
          provider: 'openai-compatible',
          upstream: `http://127.0.0.1:${(wideUpstream.address() as AddressInfo).port}`,
        },
      ],
    });
    try {
      const widePort = portOf(wide.server.dataUrl);
      const names = Array.from({ length: 2500 }, (_, i) => `x-h${i}: ${i}`);
      const answer = await rawExchange(widePort, [
        head(['GET /up/v1/models HTTP/1.1', `Host: 127.0.0.1:${widePort}`, 'Connection: close', ...names]),
      ]);
      expect(answer.status).toBe(200);
      expect(receivedNames.filter((name) => name.startsWith('x-h'))).toHaveLength(2500);
    } finally {
      await wide.shutdown();
      wideUpstream.closeAllConnections();
      wideUpstream.close();
    }
  });
});
