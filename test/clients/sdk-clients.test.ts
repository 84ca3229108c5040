/**
 * Real clients through llmtap against a local upstream replaying recorded exchanges: the official SDKs, curl and
 * a Python standard-library client. Each result through llmtap must equal the same call made directly.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const run = promisify(execFile);
const fixtures = new Map(loadRecordedFixtures().map((fixture) => [fixture.file, fixture]));
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.get(file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

let upstream: Upstream;
let proxy: TestProxy;
let serving: RecordedFixture;

beforeAll(async () => {
  upstream = await startUpstream(async (_req, res) => {
    res.writeHead(serving.response.status, replayHeaders(serving));
    const body = wireBody(serving);
    // Stream in small pieces so clients see a real incremental stream.
    for (let offset = 0; offset < body.length; offset += 97) {
      res.write(body.subarray(offset, offset + 97));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  proxy = await startTestProxy({
    routes: [
      { prefix: '/openai', provider: 'openai', upstream: upstream.url, streamUsage: 'passthrough' },
      { prefix: '/anthropic', provider: 'anthropic', upstream: upstream.url },
      { prefix: '/gemini', provider: 'gemini', upstream: upstream.url },
    ],
  });
});

afterAll(async () => {
  await proxy.drain(500);
  await upstream.close();
});

/** Runs the same client call directly and through llmtap, serving the same recorded exchange both times. */
const bothWays = async <T>(
  file: string,
  call: (direct: boolean) => Promise<T>,
): Promise<{ direct: T; proxied: T }> => {
  serving = fixture(file);
  const direct = await call(true);
  const proxied = await call(false);
  return { direct, proxied };
};

const collect = async <T>(stream: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
};

describe('official SDKs through llmtap equal direct calls', () => {
  const openai = (direct: boolean): OpenAI =>
    new OpenAI({
      apiKey: 'sk-test-canary',
      baseURL: direct ? `${upstream.url}/v1` : `${proxy.dataUrl}/openai/v1`,
      maxRetries: 0,
    });

  it('openai chat completion (gzip body)', async () => {
    const { direct, proxied } = await bothWays('openai/chat_nonstream_gzip_har.json', (d) =>
      openai(d).chat.completions.create({
        model: 'gpt-3.5-turbo',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(proxied).toEqual(direct);
    expect(proxied.usage?.prompt_tokens).toBe(15);
  });

  it('openai chat completion stream', async () => {
    const { direct, proxied } = await bothWays('openai/chat_stream_include_usage.json', async (d) =>
      collect(
        await openai(d).chat.completions.create({
          model: 'gpt-3.5-turbo',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
          stream_options: { include_usage: true },
        }),
      ),
    );
    expect(proxied).toEqual(direct);
    expect(proxied.at(-1)?.usage?.completion_tokens).toBe(15);
  });

  it('openai responses stream', async () => {
    const { direct, proxied } = await bothWays('openai/responses_stream.json', async (d) =>
      collect(await openai(d).responses.create({ model: 'gpt-4.1-nano', input: 'hi', stream: true })),
    );
    expect(proxied).toEqual(direct);
    expect(proxied.length).toBeGreaterThan(3);
  });

  it('anthropic messages stream', async () => {
    const { direct, proxied } = await bothWays('anthropic/messages_stream.json', async (d) => {
      const client = new Anthropic({
        apiKey: 'sk-ant-test-canary',
        baseURL: d ? upstream.url : `${proxy.dataUrl}/anthropic`,
        maxRetries: 0,
      });
      const stream = client.messages.stream({
        model: 'claude-3-haiku-20240307',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'hi' }],
      });
      const events = await collect(stream);
      return { events, final: await stream.finalMessage() };
    });
    expect(proxied).toEqual(direct);
    expect(proxied.final.usage.output_tokens).toBe(171);
  });

  it('google genai generateContentStream (alt=sse)', async () => {
    const { direct, proxied } = await bothWays('gemini/stream_generate_content.json', async (d) => {
      const ai = new GoogleGenAI({
        apiKey: 'AIza-test-canary-0000000000000000000',
        httpOptions: { baseUrl: d ? upstream.url : `${proxy.dataUrl}/gemini` },
      });
      const chunks = await collect(
        await ai.models.generateContentStream({ model: 'gemini-2.0-flash-exp', contents: 'hi' }),
      );
      return chunks.map((chunk) => ({
        text: chunk.text,
        usage: chunk.usageMetadata,
        model: chunk.modelVersion,
      }));
    });
    expect(proxied).toEqual(direct);
    expect(proxied.at(-1)?.usage?.promptTokenCount).toBe(13);
  });

  it('google genai generateContent', async () => {
    const { direct, proxied } = await bothWays('gemini/generate_content_har.json', async (d) => {
      const ai = new GoogleGenAI({
        apiKey: 'AIza-test-canary-0000000000000000000',
        httpOptions: { baseUrl: d ? upstream.url : `${proxy.dataUrl}/gemini` },
      });
      const response = await ai.models.generateContent({ model: 'gemini-1.5-flash', contents: 'hi' });
      return { text: response.text, usage: response.usageMetadata };
    });
    expect(proxied).toEqual(direct);
    expect(proxied.usage?.candidatesTokenCount).toBe(2);
  });
});

describe('language-agnostic clients through llmtap equal direct calls', () => {
  const body = JSON.stringify({
    model: 'claude-3-haiku-20240307',
    max_tokens: 256,
    stream: true,
    messages: [],
  });

  it('curl --no-buffer streams the exact bytes', async () => {
    const { direct, proxied } = await bothWays('anthropic/messages_stream.json', async (d) => {
      const url = d ? `${upstream.url}/v1/messages` : `${proxy.dataUrl}/anthropic/v1/messages`;
      const { stdout } = await run(
        'curl',
        [
          '--silent',
          '--show-error',
          '--no-buffer',
          '-H',
          'content-type: application/json',
          '-H',
          'x-api-key: sk-ant-canary',
          '--data-binary',
          body,
          url,
        ],
        { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout as Buffer;
    });
    expect(proxied.equals(direct)).toBe(true);
    expect(proxied.equals(wireBody(fixture('anthropic/messages_stream.json')))).toBe(true);
  });

  it('Python urllib gets the same status, content type and body', async () => {
    const script = [
      'import gzip, sys, urllib.request',
      'req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"content-type": "application/json"})',
      'res = urllib.request.urlopen(req)',
      'sys.stdout.write(str(res.status) + "\\n" + res.headers["content-type"] + "\\n")',
      'sys.stdout.flush()',
      'data = res.read()',
      'sys.stdout.buffer.write(gzip.decompress(data) if res.headers.get("content-encoding") == "gzip" else data)',
    ].join('\n');
    const { direct, proxied } = await bothWays('openai/chat_nonstream_tool_call.json', async (d) => {
      const url = d ? `${upstream.url}/v1/chat/completions` : `${proxy.dataUrl}/openai/v1/chat/completions`;
      const { stdout } = await run('python3', ['-c', script, url, '{"model":"gpt-4"}'], {
        encoding: 'buffer',
      });
      return stdout as Buffer;
    });
    expect(proxied.equals(direct)).toBe(true);
    expect(proxied.toString()).toContain('"tool_calls"');
  });
});
