/**
 * Canary secrets in every credential position (authorization, x-api-key, api-key, x-goog-api-key, SigV4
 * Credential=, ?key=, cookie, set-cookie, the OTLP exporter token) on success and on every error path llmtap
 * has — upstream 4xx/5xx that echo the key, resets, timeouts, refused connections, client aborts, guard
 * refusals, parser errors — then every log line and every exported OTLP byte is searched for them.
 * Message content (prompt and output canaries) must not be exported either: capture is off by default.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import {
  type CountingUpstream,
  portOf,
  rawExchange,
  sleep,
  startCountingUpstream,
  waitUntil,
} from './helpers.ts';

/** Realistic shapes (so the redactor's patterns are exercised too) and shapeless ones (so only "never log a header" protects them). */
const canary = {
  bearer: 'sk-proj-CANARYbearer7Q2x9LmN4pR8',
  xApiKey: 'CANARYxapikey5Kd8Wq3Zr7Tn1',
  anthropicKey: 'sk-ant-api03-CANARYanthropic4Hj6',
  azureKey: 'CANARYazure2c4e6a8b0d1f3e5a7c9',
  googKey: 'AIzaSyCANARYgoog3x5v7b9n1m2k4j6h8',
  queryKey: 'CANARYquerykey8Uy6Tr4Ee2Ww0',
  sigv4Access: 'AKIACANARYSIGV4ACC',
  sigv4Signature: 'CANARYsignature0f1e2d3c4b5a69788',
  amzToken: 'CANARYamzsecuritytoken9z8y7x6',
  cookie: 'CANARYcookie6t5r4e3w2q1',
  setCookie: 'CANARYsetcookie1a2s3d4f5g',
  otlpToken: 'CANARYotlptoken7j8k9l0p',
  prompt: 'CANARYprompttext0m9n8b7v',
  output: 'CANARYoutputtext5c4x3z2a',
} as const;

const credentialHeaders = (): Record<string, string> => ({
  authorization: `Bearer ${canary.bearer}`,
  'x-api-key': canary.xApiKey,
  'api-key': canary.azureKey,
  'x-goog-api-key': canary.googKey,
  cookie: `session=${canary.cookie}; other=1`,
  'x-amz-security-token': canary.amzToken,
});

const sigv4 = `AWS4-HMAC-SHA256 Credential=${canary.sigv4Access}/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${canary.sigv4Signature}`;

let receiver: OtlpReceiver;
let upstream: CountingUpstream;
let app: TestLlmtap;
let downUrl: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  receiver = await startOtlpReceiver();
  upstream = await startCountingUpstream();
  const gone = await startCountingUpstream();
  downUrl = gone.url;
  await gone.close();
  app = await startFullLlmtap(
    {
      routes: [
        { prefix: '/openai', provider: 'openai', upstream: upstream.url },
        { prefix: '/anthropic', provider: 'anthropic', upstream: upstream.url },
        { prefix: '/gemini', provider: 'gemini', upstream: upstream.url },
        { prefix: '/bedrock', provider: 'bedrock', upstream: upstream.url },
        { prefix: '/azure', provider: 'azure-openai', upstream: upstream.url },
        { prefix: '/down', provider: 'gemini', upstream: downUrl },
      ],
      timeouts: { upstreamHeadersMs: 1500 },
    },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${canary.otlpToken}`,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  );
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await app.shutdown();
  await upstream.close();
  await receiver.close();
  expect(unhandled).toEqual([]);
});

const fixtures = loadRecordedFixtures();
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.find((f) => f.file === file);
  if (found === undefined) throw new Error(`fixture ${file} missing`);
  return found;
};

/** Replays a recorded exchange through llmtap with every credential attached; returns the client's bytes. */
const replay = async (file: string, prefix: string, extraHeaders: Record<string, string> = {}) => {
  const f = fixture(file);
  upstream.setHandler((_req, res) => {
    res.writeHead(f.response.status, {
      ...replayHeaders(f),
      'set-cookie': `sid=${canary.setCookie}; HttpOnly`,
    });
    res.end(wireBody(f));
  });
  const path = f.request.path.includes('?')
    ? `${f.request.path}&key=${canary.queryKey}`
    : `${f.request.path}?key=${canary.queryKey}`;
  const body = f.request.body === null ? undefined : injectPrompt(f.request.body);
  const response = await rawRequest(`${app.server.dataUrl}${prefix}${path}`, {
    method: f.request.method,
    headers: { 'content-type': 'application/json', ...credentialHeaders(), ...extraHeaders },
    ...(body === undefined ? {} : { body }),
  });
  expect(response.status).toBe(f.response.status);
  expect(response.body.equals(wireBody(f))).toBe(true);
  return response;
};

/** Puts the prompt canary into the first string value called "content" or "text" of a JSON request. */
const injectPrompt = (body: string): string => body.replace(/"(content|text)":"/, `"$1":"${canary.prompt} `);

describe('canary secrets never reach logs or OTLP bytes', () => {
  it('success paths: OpenAI, Anthropic, Gemini (?key=), Bedrock (SigV4), Azure', async () => {
    await replay('openai/chat_stream_include_usage.json', '/openai');
    await replay('anthropic/messages_stream.json', '/anthropic');
    await replay('gemini/stream_generate_content.json', '/gemini');
    await replay('bedrock/converse_stream_claude.json', '/bedrock', { authorization: sigv4 });
    await replay('azure-openai/error_401_embeddings.json', '/azure');
  });

  it('upstream 401/500 answers that echo the key (the app still gets them byte for byte)', async () => {
    upstream.setHandler((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${canary.bearer} (x-api-key ${canary.xApiKey}, key=${canary.queryKey})`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        }),
      );
    });
    const r401 = await rawRequest(`${app.server.dataUrl}/openai/v1/chat/completions?key=${canary.queryKey}`, {
      method: 'POST',
      headers: credentialHeaders(),
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: canary.prompt }] }),
    });
    expect(r401.status).toBe(401);
    expect(r401.body.toString()).toContain(canary.bearer);
    upstream.setHandler((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html>proxy error for ${canary.googKey} ${canary.queryKey}</html>`);
    });
    const r500 = await rawRequest(
      `${app.server.dataUrl}/gemini/v1beta/models/g:generateContent?key=${canary.queryKey}`,
      {
        method: 'POST',
        headers: credentialHeaders(),
        body: JSON.stringify({ contents: [{ parts: [{ text: canary.prompt }] }] }),
      },
    );
    expect(r500.status).toBe(500);
  });

  it('malformed and truncated provider frames carrying output and key text', async () => {
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: {"choices":[{"delta":{"content":"${canary.output}"}}]}\n\n`);
      res.write(`data: {"choices":[{"delta":{"content":"${canary.output} ${canary.bearer}" BROKEN JSON\n\n`);
      res.end(`data: not json at all ${canary.xApiKey}\n\n`);
    });
    const response = await rawRequest(`${app.server.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: credentialHeaders(),
      body: JSON.stringify({
        model: 'gpt-4o',
        stream: true,
        messages: [{ role: 'user', content: canary.prompt }],
      }),
    });
    expect(response.status).toBe(200);
    // A request body that is not JSON (a JSON.parse message would quote it).
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await rawRequest(`${app.server.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: credentialHeaders(),
      body: `{"model":"gpt-4o","api_key":"${canary.xApiKey}","messages":[{"content":"${canary.prompt}"`,
    });
  });

  it('transport failures: reset mid-stream, no answer (504), connection refused (502), client abort', async () => {
    upstream.setHandler(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: {"choices":[{"delta":{"content":"${canary.output}"}}]}\n\n`);
      await sleep(20);
      res.socket?.resetAndDestroy();
    });
    await rawRequest(`${app.server.dataUrl}/openai/v1/chat/completions?key=${canary.queryKey}`, {
      method: 'POST',
      headers: credentialHeaders(),
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [] }),
    }).catch(() => undefined);

    upstream.setHandler(() => undefined);
    const r504 = await rawRequest(`${app.server.dataUrl}/anthropic/v1/messages?key=${canary.queryKey}`, {
      method: 'POST',
      headers: credentialHeaders(),
      body: '{"model":"claude"}',
    });
    expect(r504.status).toBe(504);
    expect(r504.body.toString()).not.toContain(canary.queryKey);

    const r502 = await rawRequest(
      `${app.server.dataUrl}/down/v1beta/models/gemini-2.5-flash:generateContent?key=${canary.queryKey}`,
      { method: 'POST', headers: credentialHeaders(), body: '{}' },
    );
    expect(r502.status).toBe(502);
    expect(r502.body.toString()).not.toContain(canary.queryKey);

    upstream.setHandler(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 100 && !res.destroyed; i += 1) {
        res.write(`data: {"choices":[{"delta":{"content":"x"}}]}\n\n`);
        await sleep(10);
      }
      res.end();
    });
    await new Promise<void>((resolve) => {
      const req = request(
        `${app.server.dataUrl}/openai/v1/chat/completions?key=${canary.queryKey}`,
        { method: 'POST', headers: credentialHeaders() },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => resolve());
      req.end('{"model":"gpt-4o","stream":true}');
    });
  });

  it('guard refusals and parser errors with credentials attached', async () => {
    await rawRequest(`${app.server.dataUrl}/openai/v1/models?key=${canary.queryKey}`, {
      headers: { ...credentialHeaders(), origin: 'https://attacker.example' },
    });
    const port = portOf(app.server.dataUrl);
    const creds = Object.entries(credentialHeaders()).map(([name, value]) => `${name}: ${value}`);
    for (const parts of [
      [`GET /openai/v1/models?key=${canary.queryKey} HTTP/1.1`, 'Host: attacker.example', ...creds],
      [
        `POST /openai/v1/x?key=${canary.queryKey} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Content-Length: 3',
        'Transfer-Encoding: chunked',
        ...creds,
      ],
      [`GET http://127.0.0.1/openai/v1/models?key=${canary.queryKey} HTTP/1.1`, 'Host: 127.0.0.1', ...creds],
      [
        `GET /openai/v1/models?key=${canary.queryKey} HTTP/1.1`,
        'Host: 127.0.0.1',
        `X-Big: ${'b'.repeat(70_000)}`,
        ...creds,
      ],
    ]) {
      const answer = await rawExchange(port, [`${parts.join('\r\n')}\r\n\r\n`]);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.text).not.toContain(canary.bearer);
    }
    const notFound = await rawRequest(`${app.server.dataUrl}/nowhere?key=${canary.queryKey}`, {
      headers: credentialHeaders(),
    });
    expect(notFound.status).toBe(404);
    expect(notFound.body.toString()).not.toContain(canary.queryKey);
  });

  it('after a flush, no canary is in any log line or exported byte (and the export is not empty)', async () => {
    // Calls were exported: the search below looks at real spans and metrics, not at nothing.
    await receiver.waitFor(() => receiver.spans.length >= 8, 5000, 'spans of the calls above');
    await app.shutdown();
    expect(receiver.metrics.length).toBeGreaterThan(0);
    // The OTLP token is a header to the collector (its purpose), never a body byte or a log.
    expect(receiver.raw.some((r) => r.headers.authorization === `Bearer ${canary.otlpToken}`)).toBe(true);
    const exported = receiver.allBytes();
    const logs = app.logs.join('\n');
    expect(await waitUntil(() => app.requestLogs().length >= 12, 2000)).toBe(true);
    for (const [name, value] of Object.entries(canary)) {
      expect(exported.includes(value), `OTLP bytes contain the ${name} canary`).toBe(false);
      expect(logs.includes(value), `logs contain the ${name} canary`).toBe(false);
    }
  });
});
