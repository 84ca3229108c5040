/**
 * Tokens on Azure OpenAI streams: on api-versions that accept `stream_options` (2024-09-01-preview and later,
 * and the v1 API) llmtap asks for `include_usage`; the client still receives exactly the stream it asked for,
 * and the span has the tokens. Older api-versions pass untouched. The upstream replays the recorded Azure
 * stream (azure-openai/chat_stream_prompt_filter_first_chunk) and, when the request asked for usage, adds
 * what OpenAI documents for that option: `"usage":null` on every chunk and a final `choices: []` usage chunk
 * (synthesised: the recording was made without the option; its token counts are those of the recorded
 * non-streaming answer to the same prompt, 16/35).
 */
import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const recorded = loadRecordedFixtures().find(
  (f) => f.file === 'azure-openai/chat_stream_prompt_filter_first_chunk.json',
) as RecordedFixture;
const STREAM = recorded.response.body;
const USAGE = { completion_tokens: 35, prompt_tokens: 16, total_tokens: 51 };

/** The recorded stream as Azure sends it when the request asked for `include_usage`. */
const withUsage = (): string => {
  const events = STREAM.split('\n\n').filter((event) => event.length > 0);
  const out: string[] = [];
  for (const event of events) {
    if (event === 'data: [DONE]') {
      out.push(
        `data: ${JSON.stringify({
          choices: [],
          created: 1774963446,
          id: 'chatcmpl-DPTMcvrtSm0g72urr2OfecoBbwKEN',
          model: 'gpt-4.1-mini-2025-04-14',
          object: 'chat.completion.chunk',
          system_fingerprint: 'fp_b6f445fc1c',
          usage: USAGE,
        })}`,
      );
      out.push(event);
    } else out.push(`${event.slice(0, -1)},"usage":null}`);
  }
  return `${out.join('\n\n')}\n\n`;
};

let upstream: Upstream;
let receiver: OtlpReceiver;
let app: TestLlmtap;
const clientBodies: string[] = [];
const sdkTexts: string[] = [];
const sdkUsages: unknown[] = [];

const REQUEST = {
  messages: [{ role: 'user', content: 'Tell me a joke about opentelemetry' }],
  model: 'openllmetry-testing',
  stream: true,
};

const viaFetch = async (path: string): Promise<void> => {
  const response = await fetch(`${app.server.dataUrl}/azure${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': 'AZURECANARY0123456789' },
    body: JSON.stringify(REQUEST),
  });
  clientBodies.push(await response.text());
};

beforeAll(async () => {
  upstream = await startUpstream(async (req, res) => {
    const asked = JSON.parse(req.body.toString('utf8')) as { stream_options?: { include_usage?: boolean } };
    const body = asked.stream_options?.include_usage === true ? withUsage() : STREAM;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    for (let offset = 0; offset < body.length; offset += 157) {
      res.write(body.slice(offset, offset + 157));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  receiver = await startOtlpReceiver();
  app = await startFullLlmtap(
    { routes: [{ prefix: '/azure', provider: 'azure-openai', upstream: upstream.url }] },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '60000' },
  );
  // 1. GA api-version with stream_options: injected.
  await viaFetch('/openai/deployments/openllmetry-testing/chat/completions?api-version=2024-10-21');
  // 2. The real SDK on a preview version that supports it.
  const client = new AzureOpenAI({
    apiKey: 'AZURECANARY0123456789',
    endpoint: `${app.server.dataUrl}/azure`,
    apiVersion: '2024-09-01-preview',
    deployment: 'openllmetry-testing',
    maxRetries: 0,
  });
  const stream = await client.chat.completions.create({
    model: 'openllmetry-testing',
    messages: [{ role: 'user', content: 'Tell me a joke about opentelemetry' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if ('usage' in chunk) sdkUsages.push(chunk.usage);
  }
  sdkTexts.push(text);
  // 3. The recorded api-version, older than stream_options: untouched.
  await viaFetch(recorded.request.path);
  // 4. The v1 API (no api-version): injected.
  await viaFetch('/openai/v1/chat/completions');
  await receiver.waitFor(() => app.requestLogs().length === 4, 5000, 'four request log lines');
  await app.shutdown();
});

afterAll(async () => {
  await receiver.close();
  await upstream.close();
});

const spans = (): ReceivedSpan[] => receiver.spans;

describe('Azure OpenAI stream usage', () => {
  it('asks for usage only on api-versions that accept it, inserting exactly one member', () => {
    const sent = upstream.received.map((r) => r.body.toString('utf8'));
    expect(sent).toHaveLength(4);
    const original = JSON.stringify(REQUEST);
    expect(sent[0]).toBe(`{"stream_options":{"include_usage":true},${original.slice(1)}`);
    expect(sent[1]?.startsWith(`{"stream_options":{"include_usage":true},"`)).toBe(true);
    expect(sent[2]).toBe(original);
    expect(sent[3]).toBe(`{"stream_options":{"include_usage":true},${original.slice(1)}`);
    expect(upstream.received[2]?.url).toContain('api-version=2024-02-01');
  });

  it('the client receives the stream it asked for, byte for byte', () => {
    expect(clientBodies).toHaveLength(3);
    for (const body of clientBodies) expect(body).toBe(STREAM);
    // The real SDK saw the recorded answer and no usage (it did not ask for any).
    expect(sdkTexts[0]).toContain('OpenTelemetry');
    expect(sdkUsages.every((usage) => usage === undefined || usage === null)).toBe(true);
  });

  it('spans of injected calls carry the tokens (and the filter results); the old api-version has none', () => {
    expect(spans()).toHaveLength(4);
    const withTokens = spans().filter((s) => s.attributes['gen_ai.usage.input_tokens'] === 16);
    expect(withTokens).toHaveLength(3);
    for (const span of withTokens) {
      expect(span.attributes['gen_ai.usage.output_tokens']).toBe(35);
      expect(span.attributes['gen_ai.response.model']).toBe('gpt-4.1-mini-2025-04-14');
      expect(span.attributes['gen_ai.prompt.prompt_filter_results']).toBeDefined();
      expect(span.attributes['gen_ai.completion.content_filter_results']).toBeDefined();
    }
    const old = spans().filter((s) => !('gen_ai.usage.input_tokens' in s.attributes));
    expect(old).toHaveLength(1);
    expect(old[0]?.attributes['gen_ai.prompt.prompt_filter_results']).toBeDefined();
    const tokens = receiver.metrics.find((m) => m.name === 'gen_ai.client.token.usage');
    const input = tokens?.points.find((p) => p.attributes['gen_ai.token.type'] === 'input');
    expect(input).toMatchObject({ count: 3, sum: 48 });
  });
});
