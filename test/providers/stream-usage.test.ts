/**
 * Streaming usage injection: `patchRequest` adds `stream_options.include_usage` only where it is safe, and
 * the response filter removes exactly what it added, for any chunking of the stream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { azureAcceptsStreamOptions, azureOpenAi } from '../../providers/azure-openai.ts';
import { openai } from '../../providers/openai.ts';
import { INCLUDE_USAGE_MEMBER, openAiStreamUsage, UsageFilter } from '../../providers/stream-usage.ts';
import { type Chunking, splitBytes } from '../capture/drive-tap.ts';
import { loadRecordedFixtures, type RecordedFixture } from '../helpers/recorded.ts';

const fixtures = loadRecordedFixtures();
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.find((candidate) => candidate.file === file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const filterAll = (text: string, chunking: Chunking): string => {
  const filter = openAiStreamUsage.createResponseFilter();
  const out: Uint8Array[] = [];
  for (const chunk of splitBytes(encoder.encode(text), chunking)) {
    // A fresh copy per call: the filter must not depend on the caller keeping its buffer.
    out.push(filter.push(chunk.slice()).slice());
  }
  out.push(filter.flush());
  return decoder.decode(Buffer.concat(out));
};

/** The `data:` payloads of an SSE body, parsed (`[DONE]` kept as a string). */
const sseData = (text: string): unknown[] =>
  text
    .split(/\r\n\r\n|\n\n|\r\r/)
    .map((event) =>
      event
        .split(/\r\n|\n|\r/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n'),
    )
    .filter((data) => data.length > 0)
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));

/** What the stream looks like without the option: no usage chunk, no `usage` member. */
const withoutInjection = (chunks: readonly unknown[]): unknown[] =>
  chunks
    .filter((chunk) => {
      const record = chunk as { choices?: unknown[]; usage?: unknown };
      return !(Array.isArray(record.choices) && record.choices.length === 0 && record.usage);
    })
    .map((chunk) => {
      if (typeof chunk === 'string') return chunk;
      const { usage: _usage, ...rest } = chunk as Record<string, unknown>;
      return rest;
    });

const CHUNKINGS: readonly Chunking[] = [
  'whole',
  'byte',
  { random: 3, maxChunk: 7 },
  { random: 11, maxChunk: 200 },
];

describe('patchRequest', () => {
  const patch = openAiStreamUsage.patchRequest;

  it('asks for usage on a streaming chat request that did not choose stream_options', () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true };
    const member = patch(body);
    expect(member).toBe(INCLUDE_USAGE_MEMBER);
    // Inserted right after the opening brace, the body is still valid JSON and asks for usage.
    const raw = JSON.stringify(body);
    const patched = JSON.parse(`{${member}${raw.slice(1)}`) as Record<string, unknown>;
    expect(patched.stream_options).toEqual({ include_usage: true });
    expect(patched.messages).toEqual(body.messages);
  });

  it('leaves alone a client that set stream_options itself (with, without include_usage, or null)', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(patch({ messages, stream: true, stream_options: { include_usage: true } })).toBeUndefined();
    expect(patch({ messages, stream: true, stream_options: { include_usage: false } })).toBeUndefined();
    expect(patch({ messages, stream: true, stream_options: {} })).toBeUndefined();
    expect(patch({ messages, stream: true, stream_options: null })).toBeUndefined();
  });

  it('leaves alone non-streaming, non-chat and unparseable bodies', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(patch({ messages, stream: false })).toBeUndefined();
    expect(patch({ messages })).toBeUndefined();
    expect(patch({ messages, stream: 'true' })).toBeUndefined();
    expect(patch({ input: 'hi', stream: true })).toBeUndefined(); // Responses API: usage is always sent
    expect(patch({ prompt: 'hi', stream: true })).toBeUndefined();
    expect(patch(undefined)).toBeUndefined();
    expect(patch([messages])).toBeUndefined();
    expect(patch('{"stream":true}')).toBeUndefined();
  });

  it('is offered by the openai adapter', () => {
    expect(openai.streamUsage).toBe(openAiStreamUsage);
  });
});

describe('the response filter', () => {
  for (const file of [
    'openai/chat_stream_include_usage.json',
    'openai/chat_stream_include_usage_tool_call.json',
  ]) {
    const body = fixture(file).response.body;
    const original = sseData(body);

    it(`${file}: the client sees the no-usage shape, for any chunking`, () => {
      const expected = withoutInjection(original);
      // The recording really has both additions, so removing them is observable.
      expect(original.length).toBe(expected.length + 1);
      let first: string | undefined;
      for (const chunking of CHUNKINGS) {
        const filtered = filterAll(body, chunking);
        first ??= filtered;
        expect(filtered).toBe(first);
        expect(filtered).not.toContain('"usage"');
        expect(sseData(filtered)).toEqual(expected);
      }
      // Byte-exact: only the usage chunk event and the `,"usage":null` members are gone.
      const usageEvent = /data: \{[^\n]*"choices":\[\],"usage":\{[^\n]*\n\n/;
      expect(usageEvent.test(body)).toBe(true);
      expect(first).toBe(body.replace(usageEvent, '').replaceAll(',"usage":null', ''));
    });

    it(`${file}: CRLF line endings (synthesised from the recording)`, () => {
      const crlf = body.replaceAll('\n', '\r\n');
      for (const chunking of CHUNKINGS) {
        const filtered = filterAll(crlf, chunking);
        expect(sseData(filtered)).toEqual(withoutInjection(original));
        expect(filtered).toBe(filterAll(body, 'whole').replaceAll('\n', '\r\n'));
      }
    });
  }

  it('matches the chunk shapes of a stream recorded without the option', () => {
    const noUsage = sseData(fixture('openai/chat_stream_no_usage.json').response.body);
    const filtered = sseData(
      filterAll(fixture('openai/chat_stream_include_usage.json').response.body, 'byte'),
    );
    const shape = (chunks: readonly unknown[]) =>
      chunks.map((chunk) =>
        typeof chunk === 'string'
          ? chunk
          : {
              hasUsage: 'usage' in (chunk as object),
              choices: ((chunk as { choices: unknown[] }).choices ?? []).length,
            },
      );
    expect(new Set(shape(filtered).map((entry) => JSON.stringify(entry)))).toEqual(
      new Set(shape(noUsage).map((entry) => JSON.stringify(entry))),
    );
  });

  it('passes a stream without the additions through unchanged', () => {
    const body = fixture('openai/chat_stream_no_usage.json').response.body;
    for (const chunking of CHUNKINGS) expect(filterAll(body, chunking)).toBe(body);
  });

  it('handles spaced members, usage as the first member, and comments (synthesised)', () => {
    const stream = [
      ': keep-alive',
      '',
      'data: {"usage": null, "id": "a", "choices": [{"index": 0, "delta": {"content": "hi"}}]}',
      '',
      'data: {"id": "a", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage" : null}',
      '',
      'data: {"id": "a", "choices": [ ], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}',
      '',
      'data: [DONE]',
      '',
      '',
    ].join('\n');
    const expected = [
      ': keep-alive',
      '',
      'data: {"id": "a", "choices": [{"index": 0, "delta": {"content": "hi"}}]}',
      '',
      'data: {"id": "a", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}',
      '',
      'data: [DONE]',
      '',
      '',
    ].join('\n');
    for (const chunking of CHUNKINGS) expect(filterAll(stream, chunking)).toBe(expected);
  });

  it('keeps a usage object the server sends on a chunk with choices (Mistral-style, not ours to remove)', () => {
    const stream =
      'data: {"id":"a","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}\n\n';
    expect(filterAll(stream, 'byte')).toBe(stream);
  });

  it('releases a cut final event on flush, filtered', () => {
    const filter = new UsageFilter();
    const head = filter.push(
      encoder.encode('data: {"id":"a","choices":[{"index":0}],"usage":null}\n\ndata: {"id"'),
    );
    expect(decoder.decode(head)).toBe('data: {"id":"a","choices":[{"index":0}]}\n\n');
    expect(decoder.decode(filter.flush())).toBe('data: {"id"');
    expect(filter.flush().length).toBe(0);
  });

  it('any split of the recorded stream gives the same bytes (property)', () => {
    const body = fixture('openai/chat_stream_include_usage_tool_call.json').response.body;
    const bytes = encoder.encode(body);
    const whole = filterAll(body, 'whole');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const filter = new UsageFilter();
          const out: Uint8Array[] = [];
          for (let i = 0; i + 1 < points.length; i++) {
            out.push(filter.push(bytes.slice(points[i], points[i + 1])).slice());
          }
          out.push(filter.flush());
          expect(decoder.decode(Buffer.concat(out))).toBe(whole);
        },
      ),
      { numRuns: 200, seed: 20261127 },
    );
  });
});

describe('Azure OpenAI: injection by api-version', () => {
  const body = { stream: true, messages: [{ role: 'user', content: 'hi' }] };
  const target = (path: string) => ({
    method: 'POST',
    path: path.split('?')[0] as string,
    query: new URLSearchParams(path.split('?')[1] ?? ''),
  });
  const deployment = (version: string) =>
    target(`/openai/deployments/gpt-4o/chat/completions?api-version=${version}`);
  const patch = (t: ReturnType<typeof target>) => azureOpenAi.streamUsage?.patchRequest(body, t);

  it.each([
    ['2024-09-01-preview', true],
    ['2024-10-21', true],
    ['2025-04-01-preview', true],
    ['2024-08-01-preview', false],
    ['2024-06-01', false],
    ['2024-02-01', false],
    ['2023-05-15', false],
    ['latest', false],
    ['', false],
  ])('api-version %s → %s', (version, injects) => {
    expect(patch(deployment(version))).toBe(injects ? INCLUDE_USAGE_MEMBER : undefined);
  });

  it('the v1 API accepts it; other APIs and no api-version do not', () => {
    expect(patch(target('/openai/v1/chat/completions'))).toBe(INCLUDE_USAGE_MEMBER);
    expect(patch(target('/openai/v1/chat/completions?api-version=preview'))).toBe(INCLUDE_USAGE_MEMBER);
    expect(patch(target('/openai/deployments/gpt-4o/chat/completions'))).toBeUndefined();
    expect(patch(target('/openai/deployments/gpt-4o/completions?api-version=2024-10-21'))).toBeUndefined();
    expect(patch(target('/openai/v1/responses'))).toBeUndefined();
    expect(azureOpenAi.streamUsage?.patchRequest(body)).toBeUndefined();
    expect(azureAcceptsStreamOptions(deployment('2024-10-21'))).toBe(true);
  });
});
