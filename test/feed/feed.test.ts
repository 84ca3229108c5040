/**
 * The call feed (#18): the ring buffer, `GET /calls`, `/calls/stream`, `/calls/{id}` and `llmtap calls`,
 * end to end with the real `openai` client through the whole llmtap, plus the bad-subscriber bounds
 * (a stalled reader is dropped and counted, a flood is refused and counted) on a real socket.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterIds } from '../../providers/index.ts';
import type { CallObserver } from '../../src/call-observer.ts';
import { helpText } from '../../src/cli.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createCallFeed, type FeedEvent } from '../../src/feed/call-feed.ts';
import { formatCallLine, runCallsCommand } from '../../src/feed/calls-command.ts';
import { allowedHost, startUiServer, type UiServer } from '../../src/feed/ui-server.ts';
import { createLogger } from '../../src/log.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { chatCall, contextFor } from '../telemetry/calls.ts';

const quietLogger = createLogger('silent', { write: () => undefined });

/** An observer standing in for telemetry: returns log fields like the real one. */
const fakeTelemetry: CallObserver = {
  start: () => ({
    finish: (call) => ({
      provider: call.provider,
      operation: call.request.operation,
      model: call.request.requestModel,
      inputTokens: call.response.usage.inputTokens,
      outputTokens: call.response.usage.outputTokens,
      errorType:
        call.httpStatus !== undefined && call.httpStatus >= 400 ? String(call.httpStatus) : undefined,
    }),
  }),
};

const chunk = (body: object): string => `data: ${JSON.stringify(body)}\n\n`;
const streamHead = (content: string, finish: string | null = null): string =>
  chunk({
    id: 'chatcmpl-feed1',
    object: 'chat.completion.chunk',
    created: 1_780_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: finish }],
  });
const streamUsage = chunk({
  id: 'chatcmpl-feed1',
  object: 'chat.completion.chunk',
  created: 1_780_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [],
  usage: {
    prompt_tokens: 21,
    completion_tokens: 7,
    total_tokens: 28,
    prompt_tokens_details: { cached_tokens: 16 },
    completion_tokens_details: { reasoning_tokens: 2 },
  },
});

describe('the feed through the whole llmtap, with the real openai client', () => {
  let upstream: Upstream;
  let app: TestLlmtap;
  let release: (() => void) | undefined;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startUpstream(async (req, res) => {
      const body = JSON.parse(req.body.toString('utf8')) as { model: string; stream?: boolean };
      if (body.model === 'rate-limited') {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
          }),
        );
        return;
      }
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(streamHead('Hel'));
        // Held mid-stream until the test has seen the call live.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        res.write(streamHead('lo', 'stop'));
        res.write(streamUsage);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-feed0',
          object: 'chat.completion',
          created: 1_780_000_000,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'Hi' },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 },
        }),
      );
    });
    app = await startFullLlmtap({
      routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }],
    });
    client = new OpenAI({
      apiKey: 'sk-proj-FEEDCANARY0123456789',
      baseURL: `${app.server.dataUrl}/openai/v1`,
      maxRetries: 0,
    });
  });

  afterAll(async () => {
    release?.();
    await app.shutdown();
    await upstream.close();
  });

  it('streams a call while it runs, then lists every call with the log line field names', async () => {
    const ui = app.ui as UiServer;
    expect(ui).toBeDefined();
    // Subscribe first: the page's feed.
    const abort = new AbortController();
    const stream = await fetch(`${ui.url}/calls/stream`, { signal: abort.signal });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: { type: string; data: Record<string, unknown> }[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const bytes of stream.body as ReadableStream<Uint8Array>) {
        buffer += decoder.decode(bytes, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type !== undefined && data !== undefined) events.push({ type, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
      }
    })().catch(() => undefined);
    await expect.poll(() => events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]?.type).toBe('snapshot');

    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const streaming = client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    });
    const streamed = (async () => {
      let text = '';
      for await (const part of await streaming) text += part.choices[0]?.delta.content ?? '';
      return text;
    })();
    // While the upstream holds the stream: the call is live, with its model and its time to first token.
    const liveCall = (): Record<string, unknown> | undefined =>
      events
        .map((event) => event.data.call as Record<string, unknown> | undefined)
        .find((call) => call?.state === 'streaming' && typeof call.ttfcMs === 'number');
    await expect.poll(liveCall, { timeout: 30_000 }).toBeDefined();
    expect(liveCall()).toMatchObject({ model: 'gpt-4o-mini', operation: 'chat', stream: true, status: 200 });
    const inFlight = JSON.parse(await (await fetch(`${ui.url}/calls`)).text()) as Record<string, unknown>[];
    expect(inFlight[0]).toMatchObject({ state: 'streaming', model: 'gpt-4o-mini' });
    release?.();
    expect(await streamed).toBe('Hello');
    await expect(
      client.chat.completions.create({ model: 'rate-limited', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow();

    await expect.poll(() => JSON.parse(app.ui ? '1' : '0') && app.requestLogs().length).toBe(3);
    const calls = (await (await fetch(`${ui.url}/calls`)).json()) as Record<string, unknown>[];
    expect(calls).toHaveLength(3);
    // Newest first.
    expect(calls.map((call) => call.model)).toEqual(['rate-limited', 'gpt-4o-mini', 'gpt-4o-mini']);
    expect(calls[0]).toMatchObject({ state: 'done', status: 429, errorType: 'rate_limit_exceeded' });
    expect(calls[1]).toMatchObject({
      state: 'done',
      stream: true,
      inputTokens: 21,
      outputTokens: 7,
      cacheReadTokens: 16,
      reasoningTokens: 2,
      responseModel: 'gpt-4o-mini-2024-07-18',
    });
    expect(calls[2]).toMatchObject({ stream: false, inputTokens: 11, outputTokens: 2, status: 200 });
    expect(typeof calls[1]?.costUsd).toBe('number');
    expect(typeof calls[1]?.ttfcMs).toBe('number');
    // The same names and values as the request's log line, for every GenAI field it has.
    const logs = app.requestLogs();
    for (const call of calls) {
      const line = logs.find((entry) => entry.model === call.model && entry.stream === call.stream);
      expect(line).toBeDefined();
      for (const key of [
        'provider',
        'operation',
        'model',
        'responseModel',
        'inputTokens',
        'outputTokens',
        'cacheReadTokens',
        'reasoningTokens',
        'costUsd',
        'ttfcMs',
        'outcome',
        'errorType',
        'status',
        'route',
      ]) {
        expect(call[key], key).toEqual(line?.[key]);
      }
    }
    // Nothing secret: the client's key is nowhere in the feed.
    expect(JSON.stringify(calls)).not.toContain('FEEDCANARY');

    // The full record of one call; content capture is off, so it carries none.
    const record = (await (await fetch(`${ui.url}/calls/${String(calls[1]?.id)}`)).json()) as Record<
      string,
      unknown
    >;
    expect(record).toMatchObject({ id: calls[1]?.id, finishReasons: ['stop'], responseId: 'chatcmpl-feed1' });
    expect(record.content).toBeUndefined();
    expect((await fetch(`${ui.url}/calls/999999`)).status).toBe(404);

    // The finished-call events carried the running totals.
    const last = events.filter((event) => event.type === 'call').at(-1)?.data;
    expect(last?.total).toMatchObject({ provider: 'openai', model: 'rate-limited', calls: 1, errors: 1 });
    abort.abort();
    await reading;
  });

  it('llmtap calls prints one line per call, and --json the same records', async () => {
    const ui = app.ui as UiServer;
    const out: string[] = [];
    const code = await runCallsCommand(
      ['--url', ui.url],
      {},
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    expect(code).toBe(0);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // Oldest first, like tail; the error shows its type.
    expect(lines[0]).toMatch(/openai {2}chat {2}gpt-4o-mini-2024-07-18 {2}200 {2}in=11 {2}out=2/);
    expect(lines[2]).toContain('ERROR rate_limit_exceeded');
    const json: string[] = [];
    await runCallsCommand(
      ['--url', ui.url, '--json', '-n', '2'],
      {},
      { out: (t) => json.push(t), err: () => undefined },
    );
    const records = json
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => r.model)).toEqual(['gpt-4o-mini', 'rate-limited']);
  });

  it('llmtap calls --follow prints calls as they finish', async () => {
    const ui = app.ui as UiServer;
    const out: string[] = [];
    const abort = new AbortController();
    const running = runCallsCommand(
      ['--url', ui.url, '--follow', '--limit', '0'],
      {},
      {
        out: (t) => out.push(t),
        err: (t) => out.push(t),
        signal: abort.signal,
      },
    );
    await expect.poll(() => ui.stats().subscribers).toBe(1);
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'again' }],
    });
    await expect.poll(() => out.join('')).toMatch(/chat {2}gpt-4o-mini-2024-07-18 {2}200/);
    expect(out.join('').trimEnd().split('\n')).toHaveLength(1);
    abort.abort();
    expect(await running).toBe(0);
  });

  it('refuses a request that names the server by a domain (DNS rebinding)', async () => {
    const ui = app.ui as UiServer;
    const { port } = new URL(ui.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(`GET /calls HTTP/1.1\r\nHost: attacker.example:${port}\r\nConnection: close\r\n\r\n`);
    let text = '';
    socket.on('data', (bytes: Buffer) => {
      text += bytes.toString('latin1');
    });
    await once(socket, 'close');
    expect(text).toMatch(/^HTTP\/1\.1 403/);
    expect(allowedHost('localhost:4547')).toBe(true);
    expect(allowedHost('127.0.0.1:4547')).toBe(true);
    expect(allowedHost('[::1]:4547')).toBe(true);
    expect(allowedHost('rebind.attacker.example')).toBe(false);
    expect(allowedHost(undefined)).toBe(false);
  });

  it('the page is self-contained and locked down by its CSP', async () => {
    const ui = app.ui as UiServer;
    const res = await fetch(`${ui.url}/`);
    const html = await res.text();
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-/);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(/);
    // The only URL in it is the SVG namespace name (never fetched).
    expect(html.match(/https?:\/\/[^'"\s]*/g)).toEqual(['http://www.w3.org/2000/svg']);
    // Call values reach the DOM only as text.
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('captured content in the full record', () => {
  it('is there only with content capture on, redacted like the span attributes', async () => {
    const fake = await startFakeLlm();
    const app = await startFullLlmtap(
      { routes: [{ prefix: '/openai', provider: 'openai', upstream: fake.url }] },
      { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' },
    );
    try {
      const client = new OpenAI({
        apiKey: 'sk-x',
        baseURL: `${app.server.dataUrl}/openai/v1`,
        maxRetries: 0,
      });
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'my key is sk-proj-CONTENTCANARY0123456789, keep it' }],
      });
      const ui = app.ui as UiServer;
      const [call] = (await (await fetch(`${ui.url}/calls`)).json()) as { id: number }[];
      // The list stays light: content only in the full record.
      expect(JSON.stringify(call)).not.toContain('keep it');
      const record = (await (await fetch(`${ui.url}/calls/${String(call?.id)}`)).json()) as {
        content: Record<string, string>;
      };
      const input = record.content['gen_ai.input.messages'] as string;
      expect(input).toContain('keep it');
      expect(input).toContain('REDACTED');
      expect(input).not.toContain('CONTENTCANARY');
      expect(record.content['gen_ai.output.messages']).toContain('Hi');
    } finally {
      await app.shutdown();
      await fake.close();
    }
  });
});

describe('the ring buffer', () => {
  const feedWith = (capacity: number, captureContent = false, maxContentChars?: number) =>
    createCallFeed({
      capacity,
      captureContent,
      ...(maxContentChars === undefined ? {} : { maxContentChars }),
      contentOf: () => ({ 'gen_ai.input.messages': 'x'.repeat(100) }),
    });
  const run = (feed: ReturnType<typeof createCallFeed>, model: string, status = 200): void => {
    const observation = feed.observe(fakeTelemetry).start(contextFor());
    observation.finish(
      chatCall({ httpStatus: status, request: { ...chatCall().request, requestModel: model } }),
    );
  };

  it('keeps the newest calls, newest first, and forgets the rest', () => {
    const feed = feedWith(3);
    expect(JSON.parse(feed.callsJson())).toEqual([]);
    for (const model of ['m1', 'm2', 'm3', 'm4', 'm5']) run(feed, model);
    const calls = JSON.parse(feed.callsJson()) as { id: number; model: string }[];
    expect(calls.map((call) => call.model)).toEqual(['m5', 'm4', 'm3']);
    expect(JSON.parse(feed.callsJson(2)).map((call: { model: string }) => call.model)).toEqual(['m5', 'm4']);
    expect(feed.recordJson(calls[2]?.id as number)).toContain('"m3"');
    expect(feed.recordJson(1)).toBeUndefined();
    expect(feed.finished).toBe(5);
    // Totals are since start, not just what the ring still holds.
    expect(feed.totals().reduce((sum, total) => sum + total.calls, 0)).toBe(5);
    expect(feed.minutes().reduce((sum, bucket) => sum + bucket.calls, 0)).toBe(5);
  });

  it('counts errors per model and escapes nothing itself (the page uses text), but redacts and clips', () => {
    const feed = feedWith(10);
    run(feed, '<img src=x onerror=alert(1)>', 500);
    run(feed, `sk-proj-SECRETSECRET0123456789${'m'.repeat(400)}`);
    const calls = JSON.parse(feed.callsJson()) as Record<string, unknown>[];
    expect(calls[1]?.model).toBe('<img src=x onerror=alert(1)>');
    expect(calls[1]?.errorType).toBe('500');
    expect(String(calls[0]?.model)).not.toContain('SECRET');
    expect(String(calls[0]?.model).length).toBeLessThanOrEqual(256);
    const totals = feed.totals();
    expect(totals.find((total) => total.model === '<img src=x onerror=alert(1)>')).toMatchObject({
      provider: 'openai',
      calls: 1,
      errors: 1,
    });
    expect(totals).toHaveLength(2);
  });

  it('keeps captured content only when capture is on, within its character budget, newest first', () => {
    const off = feedWith(10);
    run(off, 'a');
    expect(off.recordJson(1)).not.toContain('content');
    const on = feedWith(10, true, 300);
    for (const model of ['a', 'b', 'c']) run(on, model);
    const record = (id: number) => JSON.parse(on.recordJson(id) as string) as Record<string, unknown>;
    expect(record(3).content).toEqual({ 'gen_ai.input.messages': 'x'.repeat(100) });
    expect(record(2).content).toBeDefined();
    // The third content passes the budget: the oldest call's goes.
    expect(record(1).content).toBeUndefined();
    expect(on.heldChars()).toBeLessThan(300 + 3 * 1000);
  });

  it('builds no event while nobody listens, and one per change while someone does', () => {
    const feed = feedWith(10);
    run(feed, 'quiet');
    const events: FeedEvent[] = [];
    const stop = feed.listen((event) => events.push(event));
    run(feed, 'heard');
    stop();
    run(feed, 'quiet again');
    expect(events.map((event) => [event.call.state, event.call.model])).toEqual([
      ['waiting', undefined],
      ['done', 'heard'],
    ]);
  });
});

describe('bad subscribers', () => {
  const bigCall = (feed: ReturnType<typeof createCallFeed>, i: number): void => {
    const observation = feed.observe(fakeTelemetry).start(contextFor());
    observation.finish(
      chatCall({
        request: { ...chatCall().request, requestModel: `${String(i).padStart(6, '0')}${'m'.repeat(240)}` },
      }),
    );
  };

  it('drops a subscriber that stops reading (and counts it) while a reading one gets every event', async () => {
    const feed = createCallFeed({ capacity: 16, captureContent: false });
    const ui = await startUiServer({
      feed,
      listen: '127.0.0.1:0',
      logger: quietLogger,
      maxBufferedBytes: 64 * 1024,
    });
    try {
      const { port } = new URL(ui.url);
      // The stalled one: asks for the stream and never reads a byte.
      const stalled = connect(Number(port), '127.0.0.1');
      stalled.pause();
      stalled.write(`GET /calls/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      const readerAbort = new AbortController();
      const reader = await fetch(`${ui.url}/calls/stream`, { signal: readerAbort.signal });
      let received = 0;
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const bytes of reader.body as ReadableStream<Uint8Array>) {
          received += decoder.decode(bytes, { stream: true }).split('event: call\n').length - 1;
        }
      })().catch(() => undefined);
      await expect.poll(() => ui.stats().subscribers).toBe(2);
      // Bounded: ~1 KB per event; stops as soon as the stalled subscriber is dropped (kernel buffers first fill).
      let sent = 0;
      while (ui.stats().droppedSubscribers === 0 && sent < 200_000) {
        bigCall(feed, sent);
        sent += 1;
        // Far less than the cap between turns, so the reading subscriber always keeps up.
        if (sent % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      expect(ui.stats()).toMatchObject({ droppedSubscribers: 1, subscribers: 1 });
      // The count is visible to the next subscriber, in its snapshot.
      const probe = new AbortController();
      const next = await fetch(`${ui.url}/calls/stream`, { signal: probe.signal });
      const snapshotReader = (next.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let head = '';
      while (!head.includes('\n\n')) {
        const { value, done } = await snapshotReader.read();
        if (done) break;
        head += decoder.decode(value, { stream: true });
      }
      const snapshot = /^data: (.*)$/m.exec(head)?.[1] as string;
      expect(JSON.parse(snapshot).stats).toMatchObject({ droppedSubscribers: 1, refusedSubscribers: 0 });
      probe.abort();
      // It took more than the cap to fill the kernel's buffers and then the cap: the loop really pushed.
      expect(sent * 1000).toBeGreaterThan(64 * 1024);
      // Each call is two events (started, finished); the reader saw all of them.
      await expect.poll(() => received, { timeout: 30_000 }).toBe(sent * 2);
      stalled.destroy();
      readerAbort.abort();
      await reading;
    } finally {
      await ui.close();
    }
  });

  it('refuses subscribers past the cap (503, counted) and serves them again when one leaves', async () => {
    const feed = createCallFeed({ capacity: 4, captureContent: false });
    const ui = await startUiServer({ feed, listen: '127.0.0.1:0', logger: quietLogger, maxSubscribers: 3 });
    try {
      const controllers = Array.from({ length: 5 }, () => new AbortController());
      const responses = await Promise.all(
        controllers.map((controller) => fetch(`${ui.url}/calls/stream`, { signal: controller.signal })),
      );
      const statuses = responses.map((res) => res.status).sort();
      expect(statuses).toEqual([200, 200, 200, 503, 503]);
      expect(ui.stats()).toMatchObject({ subscribers: 3, refusedSubscribers: 2 });
      for (const [i, res] of responses.entries()) {
        if (res.status === 200) {
          controllers[i]?.abort();
          break;
        }
      }
      await expect.poll(() => ui.stats().subscribers).toBe(2);
      const again = new AbortController();
      expect((await fetch(`${ui.url}/calls/stream`, { signal: again.signal })).status).toBe(200);
      again.abort();
      for (const controller of controllers) controller.abort();
    } finally {
      await ui.close();
    }
  });
});

describe('configuration', () => {
  it('--ui / LLMTAP_UI_LISTEN / LLMTAP_UI_CALLS, default 127.0.0.1:4547 and 256 calls', () => {
    expect(loadConfig({}, {}, adapterIds).ui).toEqual({ listen: '127.0.0.1:4547', calls: 256 });
    expect(loadConfig({ ui: 'off' }, {}, adapterIds).ui.listen).toBe('off');
    expect(
      loadConfig({}, { LLMTAP_UI_LISTEN: '0.0.0.0:9000', LLMTAP_UI_CALLS: '50' }, adapterIds).ui,
    ).toEqual({
      listen: '0.0.0.0:9000',
      calls: 50,
    });
    expect(() => loadConfig({}, { LLMTAP_UI_CALLS: 'many' }, adapterIds)).toThrow(/ui\.calls/);
    expect(() => loadConfig({ ui: 'nowhere' }, {}, adapterIds)).toThrow(/ui\.listen/);
  });

  it('a live view that cannot listen does not stop llmtap', async () => {
    const first = await startFullLlmtap({});
    try {
      const port = new URL((first.ui as UiServer).url).port;
      const second = await startFullLlmtap({ ui: { listen: `127.0.0.1:${port}` } });
      expect(second.ui).toBeUndefined();
      expect(second.uiProblem).toMatch(/EADDRINUSE/);
      expect((await fetch(`${second.server.adminUrl}/readyz`)).status).toBe(200);
      await second.shutdown();
    } finally {
      await first.shutdown();
    }
  });

  it('llmtap --help lists the calls command and the live view settings', () => {
    const help = helpText(adapterIds);
    expect(help).toContain('llmtap calls [--follow] [--json]');
    expect(help).toContain('--ui HOST:PORT|off');
    expect(help).toContain('LLMTAP_UI_CALLS');
  });

  it('llmtap calls says where it looked when nothing answers', async () => {
    // A port nothing listens on: bound, then closed.
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');
    const err: string[] = [];
    const url = `http://127.0.0.1:${port}`;
    const code = await runCallsCommand(['--url', url], {}, { out: () => undefined, err: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join('')).toContain(`cannot read ${url} (is llmtap running`);
    expect(err.join('')).toMatch(/kubectl port-forward.*ECONNREFUSED/);
  });

  it('formats a line without control characters', () => {
    expect(
      formatCallLine({ time: '2026-01-01T10:00:00.000Z', provider: 'p', model: 'a\u001b[2Jb', status: 200 }),
    ).toBe('10:00:00.000  p  -  a?[2Jb  200  in=-  out=-  cached=-  reasoning=-  cost=-  ttft=-  dur=-');
  });
});
