/**
 * Promise 4 (nothing secret leaves the pod) across the surfaces of the wave after the first canary test: the live
 * view (/calls, /calls/{id}, /calls/stream, the page), Prometheus text on the admin port, OTLP log records (GenAI
 * events), OpenLLMetry legacy attributes, h2c on the data port, the Realtime WebSocket tunnel, Azure content
 * filters, and Bedrock SigV4 re-signing. Canary credentials sit in every position the app can put them (headers,
 * `?key=`/`?api-key=`, the app's own SigV4 Authorization and X-Amz-Security-Token) and the pod's AWS identity is a
 * canary too; the Bedrock guardrail trace carries the unmasked PII (`modelOutput`, `match`). Every exported,
 * logged and served byte is then searched. With capture off no prompt/output text may appear either; with capture
 * on, still no credential and no guardrail-matched text. `LLMTAP_MODE=off` exports nothing at all.
 */
import { once } from 'node:events';
import { connect } from 'node:http2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { adapterById } from '../../providers/index.ts';
import { openAiRealtime } from '../../providers/realtime.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import { rawRequest } from '../helpers/client.ts';
import { type FakeBedrock, startFakeBedrock } from '../helpers/fake-bedrock.ts';
import { type FakeRealtime, startFakeRealtime } from '../helpers/fake-realtime.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { type CountingUpstream, startCountingUpstream } from './helpers.ts';

const region = 'us-east-1';

const canary = {
  bearer: 'sk-proj-NSCANARYbearer7Q2x9LmN4',
  xApiKey: 'NSCANARYxapikey5Kd8Wq3Zr7',
  azureKey: 'NSCANARYazure2c4e6a8b0d1f3',
  googKey: 'AIzaSyNSCANARYgoog3x5v7b9n1m2k4',
  queryKey: 'NSCANARYquerykey8Uy6Tr4',
  appAccessKey: 'AKIANSCANARYAPPACCESS',
  appSignature: 'NSCANARYappsignature0f1e2d3c4b5a',
  appSessionToken: 'NSCANARYappsessiontoken9z8y7x6',
  podAccessKey: 'AKIANSCANARYPODACCESS',
  podSecret: 'NSCANARYpodsecret3k4j5h6g7f8d9s0a',
  podSessionToken: 'NSCANARYpodsessiontoken1q2w3e4r',
  prompt: 'NSCANARYprompttext0m9n8b7v',
  /** Key-shaped text the user pasted into a prompt: redacted even where content capture is on. */
  keyInPrompt: 'sk-proj-NSCANARYinprompt4f5g6h7j',
  awsKeyInPrompt: 'AKIANSCANARYINPROMPT',
  output: 'NSCANARYoutputtext5c4x3z2a',
  citation: 'NSCANARYcitationurl',
  /** The unmasked account number in converse_nova.json's guardrail trace (`modelOutput` and `match`). */
  guardrailMatch: '1234561666',
} as const;

const credentials = (): Record<string, string> => ({
  authorization: `Bearer ${canary.bearer}`,
  'x-api-key': canary.xApiKey,
  'api-key': canary.azureKey,
  'x-goog-api-key': canary.googKey,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  vi.unstubAllEnvs();
});

/** The pod's own AWS identity for the re-signer: canaries, from the env the provider chain reads first. */
const podIdentity = (): void => {
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/llmtap-test/credentials');
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/llmtap-test/config');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  for (const name of ['AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'])
    vi.stubEnv(name, undefined);
  vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', undefined);
  vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', undefined);
  vi.stubEnv('AWS_ACCESS_KEY_ID', canary.podAccessKey);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', canary.podSecret);
  vi.stubEnv('AWS_SESSION_TOKEN', canary.podSessionToken);
};

interface World {
  app: TestLlmtap;
  receiver: OtlpReceiver;
  upstream: CountingUpstream;
  bedrock: FakeBedrock;
  realtime: FakeRealtime;
}

const start = async (env: Record<string, string>): Promise<World> => {
  podIdentity();
  const receiver = await startOtlpReceiver();
  const upstream = await startCountingUpstream();
  const bedrock = await startFakeBedrock(region);
  bedrock.accept([
    {
      accessKeyId: canary.podAccessKey,
      secretAccessKey: canary.podSecret,
      sessionToken: canary.podSessionToken,
    },
  ]);
  const realtime = await startFakeRealtime({ perMessageDeflate: false });
  const app = await startFullLlmtap(
    {
      routes: [
        { prefix: '/openai', provider: 'openai', upstream: upstream.url },
        { prefix: '/azure', provider: 'azure-openai', upstream: upstream.url },
        { prefix: '/rt', provider: 'openai', upstream: realtime.url },
        { prefix: '/bedrock', provider: 'bedrock', upstream: bedrock.url, signing: 'aws-sigv4', region },
      ],
    },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      LLMTAP_SEMCONV_COMPAT: 'openllmetry-content',
      ...env,
    },
  );
  cleanups.push(async () => {
    await app.shutdown().catch(() => undefined);
    await Promise.all([receiver.close(), upstream.close(), bedrock.close(), realtime.close()]);
  });
  return { app, receiver, upstream, bedrock, realtime };
};

const openaiStream = [
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"${canary.output}"}}]}\n\n`,
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`,
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n`,
  'data: [DONE]\n\n',
].join('');

const azureAnswer = JSON.stringify({
  id: 'chatcmpl-az',
  object: 'chat.completion',
  model: 'gpt-4o-2024-08-06',
  prompt_filter_results: [
    {
      prompt_index: 0,
      content_filter_results: {
        hate: { filtered: false, severity: 'safe' },
        jailbreak: { filtered: false, detected: false },
      },
    },
  ],
  choices: [
    {
      index: 0,
      finish_reason: 'content_filter',
      message: { role: 'assistant', content: canary.output },
      content_filter_results: {
        protected_material_code: {
          filtered: true,
          detected: true,
          citation: { URL: `https://example.com/${canary.citation}`, license: 'GPL' },
        },
      },
    },
  ],
  usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
});

/** One call of every kind, each carrying the canaries where its app would put them; asserts the bytes pass as sent. */
const callEverything = async ({ app, upstream, bedrock, realtime }: World): Promise<void> => {
  upstream.setHandler((req, res) => {
    if (req.url?.includes('/azure') || req.url?.includes('deployments')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(azureAnswer);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(openaiStream);
  });
  const chat = JSON.stringify({
    model: 'gpt-4o',
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      {
        role: 'user',
        content: `${canary.prompt} my key is ${canary.keyInPrompt} and ${canary.awsKeyInPrompt}`,
      },
    ],
  });

  // HTTP/1.1, every credential header and ?key=.
  const h1 = await rawRequest(`${app.server.dataUrl}/openai/v1/chat/completions?key=${canary.queryKey}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...credentials() },
    body: chat,
  });
  expect(h1.status).toBe(200);
  expect(h1.body.toString()).toBe(openaiStream);

  // Azure with a content filter whose citation must not be exported.
  const azure = await rawRequest(
    `${app.server.dataUrl}/azure/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&api-key=${canary.azureKey}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...credentials() },
      body: JSON.stringify({ messages: [{ role: 'user', content: canary.prompt }] }),
    },
  );
  expect(azure.status).toBe(200);
  expect(azure.body.toString()).toBe(azureAnswer);

  // h2c on the data port.
  const session = connect(app.server.dataUrl);
  cleanups.push(() => {
    session.close();
  });
  const stream = session.request({
    ':method': 'POST',
    ':path': `/openai/v1/chat/completions?key=${canary.queryKey}`,
    'content-type': 'application/json',
    ...credentials(),
  });
  stream.end(chat);
  const h2Chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => h2Chunks.push(chunk));
  await once(stream, 'end');
  expect(Buffer.concat(h2Chunks).toString()).toBe(openaiStream);
  session.close();

  // Bedrock Converse signed by the app for llmtap's host (canary keys), re-signed by llmtap with the pod's.
  const bedrockBody = JSON.stringify({
    messages: [{ role: 'user', content: [{ text: `${canary.prompt} account 1234561666` }] }],
  });
  const converse = await rawRequest(`${app.server.dataUrl}/bedrock/model/amazon.nova-lite-v1%3A0/converse`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-amz-date': '20261202T120000Z',
      'x-amz-security-token': canary.appSessionToken,
      authorization: `AWS4-HMAC-SHA256 Credential=${canary.appAccessKey}/20261202/${region}/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=${canary.appSignature}`,
    },
    body: bedrockBody,
  });
  expect(converse.status).toBe(200);
  expect(bedrock.verdicts.at(-1)?.ok).toBe(true);
  const upstreamRequest = bedrock.received.at(-1);
  const sentHeaders = JSON.stringify(upstreamRequest?.headers);
  for (const appSecret of [canary.appAccessKey, canary.appSignature, canary.appSessionToken])
    expect(sentHeaders).not.toContain(appSecret);
  expect(upstreamRequest?.headers['x-amz-security-token']).toBe(canary.podSessionToken);

  // Realtime over WebSocket, key in the query (Azure's and Gemini Live's form) and in the header.
  const ws = new WebSocket(
    `${app.server.dataUrl.replace('http', 'ws')}/rt/v1/realtime?model=gpt-realtime&api-key=${canary.azureKey}&key=${canary.queryKey}`,
    { headers: credentials() },
  );
  const got: string[] = [];
  ws.on('message', (data: Buffer) => got.push(data.toString()));
  await once(ws, 'open');
  ws.send(
    JSON.stringify({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: canary.prompt }] },
    }),
  );
  ws.send(JSON.stringify({ type: 'response.create' }));
  const deadline = Date.now() + 5000;
  while (!got.some((text) => text.includes('"response.done"')) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  ws.close();
  await once(ws, 'close');
  expect(got).toEqual(realtime.sent);
  expect(realtime.received.some((text) => text.includes(canary.prompt))).toBe(true);
};

/** Everything the product wrote or served, besides the upstream requests. */
const everySurface = async (world: World): Promise<Record<string, string>> => {
  const { app, receiver } = world;
  const ui = app.ui?.url;
  expect(ui).toBeDefined();
  const get = async (url: string): Promise<string> =>
    (await rawRequest(url, { method: 'GET' })).body.toString();
  const list = await get(`${ui}/calls`);
  const ids = (JSON.parse(list) as { id: number }[]).map((call) => call.id);
  expect(ids.length).toBeGreaterThanOrEqual(5);
  const details = await Promise.all(ids.map((id) => get(`${ui}/calls/${id}`)));
  // The stream's first event is the snapshot of the ring.
  const controller = new AbortController();
  const sse = await fetch(`${ui}/calls/stream`, { signal: controller.signal });
  const reader = sse.body?.getReader();
  const first = await reader?.read();
  controller.abort();
  return {
    otlp: receiver.allBytes().toString('latin1'),
    logs: app.logs.join('\n'),
    feedList: list,
    feedDetails: details.join('\n'),
    feedStream: Buffer.from(first?.value ?? new Uint8Array()).toString(),
    page: await get(`${ui}/`),
    prometheus: await get(`${app.server.adminUrl}/metrics`),
  };
};

const credentialCanaries = [
  canary.bearer,
  canary.xApiKey,
  canary.azureKey,
  canary.googKey,
  canary.queryKey,
  canary.appAccessKey,
  canary.appSignature,
  canary.appSessionToken,
  canary.podAccessKey,
  canary.podSecret,
  canary.podSessionToken,
];

describe('new surfaces keep every secret in the pod', () => {
  it('capture off: no credential, no content, no guardrail match in OTLP, logs, live view or /metrics', async () => {
    const world = await start({});
    await callEverything(world);
    const { receiver, app } = world;
    await receiver.waitFor(() => receiver.spans.length >= 5, 5000, 'spans of the five calls');
    await receiver.waitFor(() => receiver.metrics.length > 0, 5000, 'metrics');
    const surfaces = await everySurface(world);
    expect(surfaces.feedList).toContain('gpt-4o');
    expect(surfaces.prometheus).toContain('gen_ai_client_token_usage');
    expect(app.logs.length).toBeGreaterThan(0);
    for (const [surface, text] of Object.entries(surfaces))
      for (const secret of [
        ...credentialCanaries,
        canary.prompt,
        canary.keyInPrompt,
        canary.awsKeyInPrompt,
        canary.output,
        canary.citation,
        canary.guardrailMatch,
      ])
        expect(text.includes(secret), `${surface} contains ${secret}`).toBe(false);
  });

  it('capture on (spans and events): content is exported, credentials and guardrail-matched text are not', async () => {
    const world = await start({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_AND_EVENT' });
    await callEverything(world);
    const { receiver } = world;
    await receiver.waitFor(() => receiver.spans.length >= 5, 5000, 'spans of the five calls');
    await receiver.waitFor(() => receiver.logs.length > 0, 5000, 'GenAI event log records');
    const surfaces = await everySurface(world);
    // The opt-in works (so the negative checks below are about redaction, not about an empty export).
    expect(surfaces.otlp).toContain(canary.prompt);
    expect(surfaces.feedDetails).toContain(canary.prompt);
    for (const [surface, text] of Object.entries(surfaces))
      for (const secret of [
        ...credentialCanaries,
        canary.citation,
        canary.keyInPrompt,
        canary.awsKeyInPrompt,
      ])
        expect(text.includes(secret), `${surface} contains ${secret}`).toBe(false);
    // The app's prompt carried the number (its own opted-in content); the model's unmasked output did not reach
    // any surface: only the guardrail's masked answer is the output.
    expect(surfaces.otlp).toContain('{Account Number}');
    expect(surfaces.otlp).not.toContain('Tokyo is the capital of Japan 1234561666');
    expect(surfaces.feedDetails).not.toContain('Tokyo is the capital of Japan 1234561666');
  });

  it('LLMTAP_MODE=off: the calls pass and nothing is exported', async () => {
    const world = await start({ LLMTAP_MODE: 'off' });
    await callEverything(world);
    // Nothing is rewritten either: no stream_options.include_usage is added to a stream that did not ask.
    const plain = JSON.stringify({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const answer = await rawRequest(`${world.app.server.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: plain,
    });
    expect(answer.body.toString()).toBe(openaiStream);
    expect(world.upstream.completed.at(-1)?.body.toString()).toBe(plain);
    await world.app.shutdown();
    expect(world.receiver.raw).toEqual([]);
  });
});

describe('a throwing observer inside a WebSocket session or an h2c stream never touches the bytes', () => {
  for (const perMessageDeflate of [false, true]) {
    it(`Realtime parser throws on every message (permessage-deflate ${perMessageDeflate ? 'on' : 'off'})`, async () => {
      const failing = vi.spyOn(openAiRealtime, 'createParser').mockImplementation(() => ({
        session: { sessionId: undefined } as never,
        clientMessage: () => {
          throw new Error('parser exploded on a client message');
        },
        serverMessage: () => {
          throw new Error('parser exploded on a server message');
        },
        end: () => [],
      }));
      cleanups.push(() => failing.mockRestore());
      const realtime = await startFakeRealtime({ perMessageDeflate });
      const receiver = await startOtlpReceiver();
      const app = await startFullLlmtap(
        { routes: [{ prefix: '/rt', provider: 'openai', upstream: realtime.url }] },
        { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
      );
      cleanups.push(async () => {
        await app.shutdown().catch(() => undefined);
        await Promise.all([receiver.close(), realtime.close()]);
      });
      const ws = new WebSocket(
        `${app.server.dataUrl.replace('http', 'ws')}/rt/v1/realtime?model=gpt-realtime`,
        {
          perMessageDeflate: perMessageDeflate ? { threshold: 0 } : false,
        },
      );
      const got: string[] = [];
      ws.on('message', (data: Buffer) => got.push(data.toString()));
      await once(ws, 'open');
      for (let round = 1; round <= 2; round++) {
        ws.send(JSON.stringify({ type: 'response.create' }));
        const deadline = Date.now() + 5000;
        while (got.filter((text) => text.includes('"response.done"')).length < round && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
      }
      ws.close();
      await once(ws, 'close');
      expect(failing).toHaveBeenCalled();
      expect(got).toEqual(realtime.sent);
      expect(got.filter((text) => text.includes('"response.done"'))).toHaveLength(2);
      expect(realtime.received).toHaveLength(2);
      // The failure ended the observation (before, with permessage-deflate, every message was an uncaught
      // exception from a zlib callback: past 20 a minute the fault policy restarts llmtap); the session span ends.
      await receiver.waitFor(
        () => receiver.spans.some((span) => span.name.startsWith('realtime')),
        5000,
        'session span',
      );
      const session = receiver.spans.find((span) => span.name.startsWith('realtime'));
      expect(session?.attributes['llmtap.realtime.observer_gave_up']).toBe('OBSERVER_FAILED');
      expect((await rawRequest(`${app.server.adminUrl}/healthz`, { method: 'GET' })).status).toBe(200);
    });
  }

  it('an adapter whose parser throws on an h2c stream: the client gets the upstream bytes', async () => {
    const openai = adapterById('openai') as ProviderAdapter;
    const failing = vi.spyOn(openai, 'createParser').mockImplementation(() => {
      throw new Error('parser exploded on h2c');
    });
    cleanups.push(() => failing.mockRestore());
    const upstream = await startCountingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(openaiStream);
    });
    const app = await startFullLlmtap({
      routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url }],
    });
    cleanups.push(async () => {
      await app.shutdown().catch(() => undefined);
      await upstream.close();
    });
    const session = connect(app.server.dataUrl);
    cleanups.push(() => {
      session.close();
    });
    const stream = session.request({ ':method': 'POST', ':path': '/openai/v1/chat/completions' });
    stream.end(
      JSON.stringify({
        model: 'gpt-4o',
        stream: true,
        stream_options: { include_usage: true },
        messages: [],
      }),
    );
    const chunks: Buffer[] = [];
    let status: unknown;
    stream.on('response', (headers) => {
      status = headers[':status'];
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(stream, 'end');
    expect(failing).toHaveBeenCalled();
    expect(status).toBe(200);
    expect(Buffer.concat(chunks).toString()).toBe(openaiStream);
  });
});

describe('exporters failing', () => {
  it('the OTLP token never appears in the logs when spans, metrics and GenAI event log records fail to export', async () => {
    const otlpToken = 'NSCANARYotlptoken7j8k9l0p';
    const world = await start({
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${otlpToken},x-api-key=${otlpToken}`,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_AND_EVENT',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    world.receiver.respondWith(401);
    await callEverything(world);
    await world.receiver.waitFor(
      () => new Set(world.receiver.raw.map((request) => request.path)).size >= 3,
      5000,
      'attempts on the traces, metrics and logs paths',
    );
    await world.app.shutdown();
    expect(
      world.receiver.raw.some((request) => request.headers.authorization === `Bearer ${otlpToken}`),
    ).toBe(true);
    const logs = world.app.logs.join('\n');
    for (const signal of ['traces', 'metrics', 'logs'])
      expect(logs).toMatch(new RegExp(`"telemetry dropped","signal":"${signal}","reason":"export_failed"`));
    expect(logs.includes(otlpToken)).toBe(false);
  });
});
