/**
 * Streaming usage injection through the whole product: a client that did not ask for usage gets the stream it
 * would have got (no usage chunk, no `"usage":null` members) while llmtap records the exact usage; a client that
 * asked for usage, and a `passthrough` route, get the upstream's bytes unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { loadRecordedFixtures, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const fixtures = new Map(loadRecordedFixtures().map((fixture) => [fixture.file, fixture]));
const withUsage = fixtures.get('openai/chat_stream_include_usage.json');
const withoutUsage = fixtures.get('openai/chat_stream_no_usage.json');

let upstream: Upstream;
let llmtap: TestLlmtap;

/** The upstream answers like OpenAI: the usage shape only when the request asked for it. */
beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const asked = (JSON.parse(req.body.toString()) as { stream_options?: { include_usage?: boolean } })
      .stream_options?.include_usage;
    const fixture = asked === true ? withUsage : withoutUsage;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    const body = wireBody(fixture as NonNullable<typeof fixture>);
    // Odd piece sizes put chunk boundaries inside `"usage":null` members.
    for (let offset = 0; offset < body.length; offset += 13) res.write(body.subarray(offset, offset + 13));
    res.end();
  });
  llmtap = await startFullLlmtap({
    routes: [
      { prefix: '/openai', provider: 'openai', upstream: upstream.url },
      { prefix: '/raw', provider: 'openai', upstream: upstream.url, streamUsage: 'passthrough' },
    ],
  });
});

afterAll(async () => {
  await llmtap.shutdown();
  await upstream.close();
});

const dataEvents = (body: Buffer): unknown[] =>
  body
    .toString()
    .split('\n\n')
    .filter((event) => event.startsWith('data: ') && !event.startsWith('data: [DONE]'))
    .map((event) => JSON.parse(event.slice(6)));

const stripUsage = (chunk: unknown): unknown => {
  const { usage: _usage, ...rest } = chunk as Record<string, unknown>;
  return rest;
};

const lastLog = async (count: number): Promise<Record<string, unknown>> => {
  await expect.poll(() => llmtap.requestLogs().length).toBe(count);
  return llmtap.requestLogs()[count - 1] as Record<string, unknown>;
};

describe('stream usage injection', () => {
  const request = '{"model":"gpt-3.5-turbo","stream":true,"messages":[{"role":"user","content":"hi"}]}';

  it('asks the upstream for usage, hides it from the client, and records it', async () => {
    const response = await rawRequest(`${llmtap.server.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-canary-injection-0000' },
      body: request,
    });
    expect(upstream.received.at(-1)?.body.toString()).toBe(
      `{"stream_options":{"include_usage":true},${request.slice(1)}`,
    );
    const upstreamChunks = dataEvents(wireBody(withUsage as NonNullable<typeof withUsage>));
    const clientChunks = dataEvents(response.body);
    // Exactly the upstream's chunks minus the usage-only chunk, each without its `usage` member.
    const expected = upstreamChunks
      .filter((chunk) => (chunk as { choices: unknown[] }).choices.length > 0)
      .map(stripUsage);
    expect(clientChunks).toEqual(expected);
    expect(response.body.toString()).not.toContain('"usage"');
    expect(response.body.toString().endsWith('data: [DONE]\n\n')).toBe(true);

    const log = await lastLog(1);
    expect(log.inputTokens).toBe(18);
    expect(log.outputTokens).toBe(15);
  });

  it('changes nothing when the client asked for usage itself', async () => {
    const asked =
      '{"model":"gpt-3.5-turbo","stream":true,"stream_options":{"include_usage":true},"messages":[]}';
    const response = await rawRequest(`${llmtap.server.dataUrl}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: asked,
    });
    expect(upstream.received.at(-1)?.body.toString()).toBe(asked);
    expect(response.body.equals(wireBody(withUsage as NonNullable<typeof withUsage>))).toBe(true);
  });

  it('changes nothing on a passthrough route, and the usage stays unknown', async () => {
    const response = await rawRequest(`${llmtap.server.dataUrl}/raw/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: request,
    });
    expect(upstream.received.at(-1)?.body.toString()).toBe(request);
    expect(response.body.equals(wireBody(withoutUsage as NonNullable<typeof withoutUsage>))).toBe(true);
    const log = await lastLog(3);
    expect(log.inputTokens).toBeUndefined();
  });
});
