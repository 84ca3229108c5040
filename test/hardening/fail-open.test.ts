/**
 * Fail-open at the tap boundary, through the whole product: whatever throws in decoding, framing, parsing or the
 * observer, the app's bytes and status are the upstream's, the failure is counted in
 * `llmtap.telemetry.errors{llmtap.telemetry.stage}` and logged rate-limited, and llmtap keeps serving.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import { createLogger } from '../../src/log.ts';
import type { CallTap, TapFactory } from '../../src/proxy/tap.ts';
import { startProxyServer } from '../../src/server/proxy-server.ts';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { testConfig } from '../helpers/proxy.ts';
import { loadRecordedFixtures, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { type CountingUpstream, startCountingUpstream, waitUntil } from './helpers.ts';

const fixture = (file: string) => {
  const found = loadRecordedFixtures().find((f) => f.file === file);
  if (found === undefined) throw new Error(`fixture ${file} missing`);
  return found;
};
const stream = fixture('openai/chat_stream_include_usage.json');

let receiver: OtlpReceiver;
let upstream: CountingUpstream;
let app: TestLlmtap;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startCountingUpstream((_req, res) => {
    res.writeHead(stream.response.status, replayHeaders(stream));
    res.end(wireBody(stream));
  });
  app = await startFullLlmtap(
    {
      routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url, streamUsage: 'passthrough' }],
    },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRIC_EXPORT_INTERVAL: '100',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  );
});

afterAll(async () => {
  await app.shutdown();
  await upstream.close();
  await receiver.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const call = () =>
  rawRequest(`${app.server.dataUrl}/openai${stream.request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: stream.request.body ?? '{}',
  });

/** Sum of `llmtap.telemetry.errors` received so far for one stage. */
const errorsCounted = (stage: string): number =>
  receiver.metrics
    .filter((m) => m.name === 'llmtap.telemetry.errors')
    .flatMap((m) => m.points)
    .filter((p) => p.attributes['llmtap.telemetry.stage'] === stage)
    .reduce((sum, p) => sum + (p.value ?? 0), 0);

const openai = adapterById('openai') as ProviderAdapter;

const faults: readonly { name: string; stage: string; inject: () => void }[] = [
  {
    name: 'the adapter throws while reading the request',
    stage: 'parse',
    inject: () => {
      vi.spyOn(openai, 'parseRequest').mockImplementation(() => {
        throw new Error('parseRequest exploded');
      });
    },
  },
  {
    name: 'the response parser throws on a frame',
    stage: 'parse',
    inject: () => {
      vi.spyOn(openai, 'createParser').mockImplementation(() => ({
        push: () => {
          throw new RangeError('parser exploded');
        },
        finish: () => {
          throw new RangeError('finish exploded too');
        },
      }));
    },
  },
  {
    name: 'the adapter names a framing that does not exist',
    stage: 'framing',
    inject: () => {
      vi.spyOn(openai, 'framing').mockReturnValue('no-such-framing' as never);
    },
  },
];

describe('an exception in the telemetry path never changes the call', () => {
  for (const fault of faults) {
    it(`${fault.name}: bytes and status unchanged, counted under stage "${fault.stage}"`, async () => {
      const before = errorsCounted(fault.stage);
      fault.inject();
      for (let i = 0; i < 5; i += 1) {
        const response = await call();
        expect(response.status).toBe(200);
        expect(response.body.equals(wireBody(stream))).toBe(true);
      }
      vi.restoreAllMocks();
      await receiver.waitFor(
        () => errorsCounted(fault.stage) >= before + 5,
        5000,
        `errors{stage=${fault.stage}}`,
      );
      // And the next call is parsed normally again.
      const response = await call();
      expect(response.body.equals(wireBody(stream))).toBe(true);
    });
  }

  it('a response body that is not what its Content-Encoding says: counted under "decode", bytes unchanged', async () => {
    const before = errorsCounted('decode');
    const garbage = Buffer.concat([
      gzipSync('data: {"choices":[]}\n\n').subarray(0, 12),
      Buffer.from('not gzip at all'),
    ]);
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(garbage);
    });
    try {
      const response = await call();
      expect(response.status).toBe(200);
      expect(response.body.equals(garbage)).toBe(true);
      await receiver.waitFor(() => errorsCounted('decode') > before, 5000, 'errors{stage=decode}');
    } finally {
      upstream.setHandler((_req, res) => {
        res.writeHead(stream.response.status, replayHeaders(stream));
        res.end(wireBody(stream));
      });
    }
  });

  it('failures are logged rate-limited: one warning line per stage however many calls fail', async () => {
    vi.spyOn(openai, 'parseRequest').mockImplementation(() => {
      throw new Error('parseRequest exploded again');
    });
    for (let i = 0; i < 20; i += 1) expect((await call()).status).toBe(200);
    // Across this whole file dozens of calls failed in "parse": one line, within the 60 s window.
    const parseWarnings = app.logs.filter(
      (l) => l.includes('telemetry stage failed') && l.includes('"stage":"parse"'),
    );
    expect(parseWarnings).toHaveLength(1);
  });
});

describe('the tap guard (core): an observer that throws from every method', () => {
  it('is switched off after its first failure, reported once per call, and never touches the bytes', async () => {
    let opened = 0;
    const throwing: TapFactory = {
      open() {
        opened += 1;
        const boom = (): never => {
          throw new Error('observer bug');
        };
        const tap: CallTap = {
          requestBody: boom,
          requestEnd: boom,
          upstreamRequestSent: boom,
          responseHead: boom,
          responseBody: boom,
          clientFirstByte: boom,
          end: boom,
        };
        return tap;
      },
    };
    const reported: unknown[] = [];
    const server = await startProxyServer({
      config: testConfig({ routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }] }),
      logger: createLogger('silent'),
      tapFactory: throwing,
      onTapError: (error) => reported.push(error),
      env: {},
    });
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await rawRequest(`${server.dataUrl}/openai${stream.request.path}`, {
          method: 'POST',
          body: stream.request.body ?? '{}',
        });
        expect(response.status).toBe(200);
        expect(response.body.equals(wireBody(stream))).toBe(true);
      }
      expect(opened).toBe(3);
      expect(await waitUntil(() => reported.length === 3, 2000)).toBe(true);
    } finally {
      await server.drain(500);
    }
  });

  it('a tap factory that throws on open: the call is forwarded unobserved', async () => {
    const reported: unknown[] = [];
    const server = await startProxyServer({
      config: testConfig({ routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }] }),
      logger: createLogger('silent'),
      tapFactory: {
        open: () => {
          throw new Error('factory bug');
        },
      },
      onTapError: (error) => reported.push(error),
      env: {},
    });
    try {
      const response = await rawRequest(`${server.dataUrl}/openai${stream.request.path}`, {
        method: 'POST',
        body: stream.request.body ?? '{}',
      });
      expect(response.body.equals(wireBody(stream))).toBe(true);
      expect(reported).toHaveLength(1);
    } finally {
      await server.drain(500);
    }
  });
});

describe('usage injection fails open (the one place llmtap alters bytes)', () => {
  const noUsage = fixture('openai/chat_stream_no_usage.json');
  let injectApp: TestLlmtap;
  beforeAll(async () => {
    injectApp = await startFullLlmtap({
      routes: [{ prefix: '/inject', provider: 'openai', upstream: upstream.url, streamUsage: 'inject' }],
    });
  });
  afterAll(async () => {
    await injectApp.shutdown();
  });

  const serveNoUsage = (): void =>
    upstream.setHandler(async (_req, res) => {
      res.writeHead(200, replayHeaders(noUsage));
      const body = wireBody(noUsage);
      // Several writes, so the filter sees several chunks.
      for (let at = 0; at < body.length; at += 64) {
        res.write(body.subarray(at, at + 64));
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });

  const injectCall = () =>
    rawRequest(`${injectApp.server.dataUrl}/inject${noUsage.request.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: noUsage.request.body ?? '{}',
    });

  it('the request patch throws: the request goes upstream unpatched and the answer is untouched', async () => {
    serveNoUsage();
    const injection = openai.streamUsage as NonNullable<ProviderAdapter['streamUsage']>;
    vi.spyOn(injection, 'patchRequest').mockImplementation(() => {
      throw new Error('patch exploded');
    });
    const before = upstream.completed.length;
    const response = await injectCall();
    expect(response.status).toBe(200);
    expect(response.body.equals(wireBody(noUsage))).toBe(true);
    expect(upstream.completed.length).toBe(before + 1);
    expect(upstream.completed.at(-1)?.body.toString()).toBe(noUsage.request.body);
  });

  it('the response filter throws mid-stream: the stream is not cut; the rest passes unfiltered to a clean end', async () => {
    serveNoUsage();
    const injection = openai.streamUsage as NonNullable<ProviderAdapter['streamUsage']>;
    const real = injection.createResponseFilter.bind(injection);
    vi.spyOn(injection, 'createResponseFilter').mockImplementation(() => {
      const inner = real();
      let pushes = 0;
      return {
        push: (chunk: Uint8Array) => {
          pushes += 1;
          if (pushes === 3) throw new Error('filter exploded');
          return inner.push(chunk);
        },
        flush: () => inner.flush(),
      };
    });
    const response = await injectCall();
    expect(response.status).toBe(200);
    // Unfiltered from the failure on: the tail of the upstream's bytes arrives unchanged.
    const wire = wireBody(noUsage);
    expect(wire.subarray(wire.length - 64).equals(response.body.subarray(response.body.length - 64))).toBe(
      true,
    );
  });
});

describe('bugs in the core itself never leave a client hanging', () => {
  beforeAll(() => {
    upstream.setHandler((_req, res) => {
      res.writeHead(stream.response.status, replayHeaders(stream));
      res.end(wireBody(stream));
    });
  });

  it('an observer whose request rewrite throws: the call is forwarded untouched and the failure reported', async () => {
    const reported: unknown[] = [];
    const server = await startProxyServer({
      config: testConfig({ routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }] }),
      logger: createLogger('silent'),
      tapFactory: {
        open: () => ({
          ...noopTap,
          rewritesRequest: true,
          rewriteRequest: () => {
            throw new Error('rewrite bug');
          },
        }),
      },
      onTapError: (error) => reported.push(error),
      env: {},
    });
    try {
      const response = await rawRequest(`${server.dataUrl}/openai${stream.request.path}`, {
        method: 'POST',
        body: stream.request.body ?? '{}',
      });
      expect(response.body.equals(wireBody(stream))).toBe(true);
      expect(reported).toHaveLength(1);
    } finally {
      await server.drain(500);
    }
  });

  it('an exception escaping the request handler: 500 LLMTAP_INTERNAL at once, and the next call is served', async () => {
    let failNext = true;
    const server = await startProxyServer({
      config: testConfig({ routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }] }),
      logger: createLogger('silent'),
      tapFactory: {
        open: () => {
          if (failNext) throw new Error('observer bug');
          return { ...noopTap };
        },
      },
      // The error sink failing too: nothing is left between the bug and the HTTP server but the handler guard.
      onTapError: () => {
        failNext = false;
        throw new Error('error sink bug');
      },
      env: {},
    });
    try {
      const failed = await rawRequest(`${server.dataUrl}/openai/v1/models`);
      expect(failed.status).toBe(500);
      expect(JSON.parse(failed.body.toString()).error.code).toBe('LLMTAP_INTERNAL');
      const next = await rawRequest(`${server.dataUrl}/openai${stream.request.path}`, {
        method: 'POST',
        body: stream.request.body ?? '{}',
      });
      expect(next.body.equals(wireBody(stream))).toBe(true);
    } finally {
      await server.drain(500);
    }
  });
});

const noopTap: CallTap = {
  requestBody: () => {},
  requestEnd: () => {},
  upstreamRequestSent: () => {},
  responseHead: () => {},
  responseBody: () => {},
  clientFirstByte: () => {},
  end: () => undefined,
};
