/**
 * Opt-in content capture (semconv v1.41.1 message shapes) on the recorded exchanges: off means nothing is
 * copied; on, the facts are unchanged, the text is what the provider sent, and the per-call cap holds.
 */
import { describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { CapturedContent, LlmCall } from '../../src/record.ts';
import { replayFixtureThroughTap } from '../capture/drive-tap.ts';
import { loadRecordedFixtures, type RecordedFixture } from '../helpers/recorded.ts';
import { adapterIdFor } from './expected.ts';

const fixtures = loadRecordedFixtures();
const byFile = (file: string): RecordedFixture => {
  const found = fixtures.find((fixture) => fixture.file === file);
  if (found === undefined) throw new Error(`missing ${file}`);
  return found;
};

const run = (
  fixture: RecordedFixture,
  captureContent: boolean,
  maxCapturedChars?: number,
): Promise<LlmCall> => {
  const adapter = adapterById(adapterIdFor(fixture));
  if (adapter === undefined) throw new Error(`no adapter for ${fixture.file}`);
  return replayFixtureThroughTap(
    fixture,
    adapter,
    { random: 17, maxChunk: 48 },
    {
      captureContent,
      ...(maxCapturedChars === undefined ? {} : { limits: { maxCapturedChars } }),
    },
  );
};

/** Characters of captured text (the budgeted fields). */
const capturedChars = (value: unknown): number => {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + capturedChars(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let sum = 0;
  for (const [key, member] of Object.entries(value)) {
    if ((key === 'content' || key === 'arguments' || key === 'response') && typeof member === 'string') {
      sum += member.length;
    } else sum += capturedChars(member);
  }
  return sum;
};

const outputText = (content: CapturedContent | undefined): string =>
  ((content?.outputMessages ?? []) as { parts: { type: string; content?: string }[] }[])
    .flatMap((message) => message.parts)
    .filter((part) => part.type === 'text')
    .map((part) => part.content ?? '')
    .join('');

const sseData = (body: string): Record<string, unknown>[] =>
  body
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);

describe('content capture', () => {
  it('off: no content is copied from any recorded exchange', async () => {
    for (const fixture of fixtures) {
      const call = await run(fixture, false);
      expect(call.content, fixture.file).toBeUndefined();
    }
  });

  it('on: facts are identical to capture off, and a small per-call cap holds', async () => {
    let truncatedCalls = 0;
    for (const fixture of fixtures) {
      const off = await run(fixture, false);
      const on = await run(fixture, true, 120);
      expect(on.response, fixture.file).toEqual(off.response);
      expect(on.request, fixture.file).toEqual(off.request);
      expect(on.outcome, fixture.file).toBe(off.outcome);
      expect(capturedChars(on.content), fixture.file).toBeLessThanOrEqual(120);
      if (on.content?.truncated === true) truncatedCalls++;
    }
    // Plenty of recorded prompts/answers exceed 120 characters: the cap really cut something.
    expect(truncatedCalls).toBeGreaterThan(20);
  });

  it('OpenAI chat JSON: input and output messages in the semconv shape', async () => {
    const fixture = byFile('openai/chat_nonstream_basic.json');
    const request = JSON.parse(fixture.request.body ?? '{}') as {
      messages: { role: string; content: string }[];
    };
    const response = JSON.parse(fixture.response.body) as { choices: { message: { content: string } }[] };
    const call = await run(fixture, true);
    expect(call.content?.inputMessages).toEqual(
      request.messages.map((message) => ({
        role: message.role,
        parts: [{ type: 'text', content: message.content }],
      })),
    );
    expect(call.content?.outputMessages).toEqual([
      {
        role: 'assistant',
        parts: [{ type: 'text', content: response.choices[0]?.message.content }],
        finish_reason: 'stop',
      },
    ]);
    expect(call.content?.truncated).toBeUndefined();
  });

  it('OpenAI chat stream: the output is the concatenated deltas', async () => {
    const fixture = byFile('openai/chat_stream_no_usage.json');
    const deltas = sseData(fixture.response.body)
      .map((chunk) => (chunk.choices as { delta?: { content?: string } }[])[0]?.delta?.content ?? '')
      .join('');
    const call = await run(fixture, true);
    expect(deltas.length).toBeGreaterThan(10);
    expect(outputText(call.content)).toBe(deltas);
  });

  it('Anthropic stream: the output is the text deltas; `system` goes to system instructions', async () => {
    const fixture = byFile('anthropic/messages_stream.json');
    const deltas = sseData(fixture.response.body)
      .filter((event) => event.type === 'content_block_delta')
      .map((event) => (event.delta as { text?: string }).text ?? '')
      .join('');
    const call = await run(fixture, true);
    expect(outputText(call.content)).toBe(deltas);
    const request = JSON.parse(fixture.request.body ?? '{}') as { system?: unknown };
    if (typeof request.system === 'string') {
      expect(call.content?.systemInstructions).toEqual([{ type: 'text', content: request.system }]);
    }
  });

  it('Gemini stream and Bedrock ConverseStream: the output is the streamed text', async () => {
    const gemini = byFile('gemini/stream_generate_content.json');
    const geminiText = sseData(gemini.response.body)
      .flatMap(
        (chunk) =>
          (chunk.candidates as { content?: { parts?: { text?: string; thought?: boolean }[] } }[]) ?? [],
      )
      .flatMap((candidate) => candidate.content?.parts ?? [])
      .filter((part) => part.thought !== true)
      .map((part) => part.text ?? '')
      .join('');
    expect(outputText((await run(gemini, true)).content)).toBe(geminiText);

    const bedrock = await run(byFile('bedrock/converse_stream_claude.json'), true);
    expect(outputText(bedrock.content).length).toBeGreaterThan(20);
    expect(bedrock.content?.inputMessages).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] },
    ]);
    expect(bedrock.content?.systemInstructions).toEqual([
      { type: 'text', content: 'You are a helpful chatbot.' },
    ]);
  });
});

type ToolCallPart = { type: string; id?: string; name?: string; arguments?: string };
const toolCalls = (content: CapturedContent | undefined): ToolCallPart[] =>
  ((content?.outputMessages ?? []) as { parts: ToolCallPart[] }[])
    .flatMap((message) => message.parts)
    .filter((part) => part.type === 'tool_call');

describe('content capture of streamed tool calls', () => {
  it('OpenAI: each tool call has its id, name and the concatenated argument pieces', async () => {
    const fixture = byFile('openai/chat_stream_parallel_tool_calls_no_usage.json');
    const expected = new Map<number, ToolCallPart>();
    for (const chunk of sseData(fixture.response.body)) {
      const choice = (chunk.choices as { delta?: { tool_calls?: Record<string, unknown>[] } }[])[0];
      for (const call of choice?.delta?.tool_calls ?? []) {
        const fn = call.function as { name?: string; arguments?: string } | undefined;
        const slot = call.index as number;
        const entry = expected.get(slot) ?? { type: 'tool_call', id: '', name: '', arguments: '' };
        if (typeof call.id === 'string') entry.id = call.id;
        if (fn?.name !== undefined) entry.name = fn.name;
        entry.arguments += fn?.arguments ?? '';
        expected.set(slot, entry);
      }
    }
    expect(expected.size).toBeGreaterThan(1);
    const call = await run(fixture, true);
    expect(toolCalls(call.content)).toEqual([...expected.values()]);
    for (const part of toolCalls(call.content)) expect(() => JSON.parse(part.arguments ?? '')).not.toThrow();
  });

  it('Anthropic: each tool_use block id and name, and its input_json_delta pieces', async () => {
    const fixture = byFile('anthropic/messages_stream_tool_use.json');
    const events = sseData(fixture.response.body);
    const expected = events
      .filter(
        (event) =>
          event.type === 'content_block_start' &&
          (event.content_block as { type: string }).type === 'tool_use',
      )
      .map((start) => {
        const block = start.content_block as { id: string; name: string };
        const json = events
          .filter((event) => event.type === 'content_block_delta' && event.index === start.index)
          .map((event) => (event.delta as { partial_json?: string }).partial_json ?? '')
          .join('');
        expect(JSON.parse(json)).toBeTypeOf('object');
        return { type: 'tool_call', id: block.id, name: block.name, arguments: json };
      });
    expect(expected.length).toBeGreaterThan(0);
    const call = await run(fixture, true);
    expect(toolCalls(call.content)).toEqual(expected);
  });

  it('Gemini: each streamed functionCall (whole in one chunk) with its name and args as JSON', async () => {
    const fixture = byFile('gemini/stream_generate_content_tool_call.json');
    const expected = sseData(fixture.response.body).flatMap((chunk) =>
      (chunk.candidates as { content?: { parts?: Record<string, unknown>[] } }[]).flatMap((candidate) =>
        (candidate.content?.parts ?? [])
          .map((part) => part.functionCall as { name: string; args: unknown } | undefined)
          .filter((fn) => fn !== undefined)
          .map((fn) => ({ type: 'tool_call', id: '', name: fn.name, arguments: JSON.stringify(fn.args) })),
      ),
    );
    expect(expected.length).toBeGreaterThan(0);
    const call = await run(fixture, true);
    expect(toolCalls(call.content)).toEqual(expected);
  });

  it('Bedrock ConverseStream: each toolUse block id and name, and its input pieces', async () => {
    const fixture = byFile('bedrock/converse_stream_anthropic_tool_use.json');
    const events = eventstreamMessages(Buffer.from(fixture.response.body, 'base64'));
    const expected = events
      .filter((event) => event.type === 'contentBlockStart')
      .map(({ payload }) => {
        const start = payload as {
          contentBlockIndex: number;
          start: { toolUse: { toolUseId: string; name: string } };
        };
        const json = events
          .filter(
            (event) =>
              event.type === 'contentBlockDelta' &&
              (event.payload as { contentBlockIndex: number }).contentBlockIndex === start.contentBlockIndex,
          )
          .map(
            (event) =>
              (event.payload as { delta: { toolUse?: { input?: string } } }).delta.toolUse?.input ?? '',
          )
          .join('');
        expect(JSON.parse(json)).toBeTypeOf('object');
        return {
          type: 'tool_call',
          id: start.start.toolUse.toolUseId,
          name: start.start.toolUse.name,
          arguments: json,
        };
      });
    expect(expected.length).toBeGreaterThan(0);
    const call = await run(fixture, true);
    expect(toolCalls(call.content)).toEqual(expected);
  });

  it('Cohere v2: each tool-call-start id and name, and its tool-call-delta argument pieces', async () => {
    const fixture = byFile('cohere/v2_chat_stream_tool_calls.json');
    type CohereCall = { id?: string; function?: { name?: string; arguments?: string } };
    const expected = new Map<number, ToolCallPart>();
    for (const event of sseData(fixture.response.body)) {
      if (event.type !== 'tool-call-start' && event.type !== 'tool-call-delta') continue;
      const piece = ((event.delta as { message: { tool_calls: CohereCall } }).message.tool_calls ??
        {}) as CohereCall;
      const slot = event.index as number;
      const entry = expected.get(slot) ?? { type: 'tool_call', id: '', name: '', arguments: '' };
      if (piece.id !== undefined) entry.id = piece.id;
      if (piece.function?.name !== undefined) entry.name = piece.function.name;
      entry.arguments += piece.function?.arguments ?? '';
      expected.set(slot, entry);
    }
    expect(expected.size).toBeGreaterThan(1);
    const call = await run(fixture, true);
    expect(toolCalls(call.content)).toEqual([...expected.values()]);
    for (const part of toolCalls(call.content)) expect(() => JSON.parse(part.arguments ?? '')).not.toThrow();
  });
});

/**
 * AWS eventstream messages (prelude: total length, headers length, prelude CRC; headers; payload; CRC), read
 * here independently of llmtap's decoder: the `:event-type` header and the JSON payload of each.
 */
const eventstreamMessages = (bytes: Buffer): { type: string; payload: unknown }[] => {
  const out: { type: string; payload: unknown }[] = [];
  for (let at = 0; at + 12 <= bytes.length; ) {
    const total = bytes.readUInt32BE(at);
    const headersLength = bytes.readUInt32BE(at + 4);
    let type = '';
    for (let h = at + 12; h < at + 12 + headersLength; ) {
      const nameLength = bytes.readUInt8(h);
      const name = bytes.toString('utf8', h + 1, h + 1 + nameLength);
      h += 1 + nameLength;
      const valueType = bytes.readUInt8(h);
      if (valueType !== 7) throw new Error(`header ${name}: type ${valueType} not expected here`);
      const valueLength = bytes.readUInt16BE(h + 1);
      const value = bytes.toString('utf8', h + 3, h + 3 + valueLength);
      h += 3 + valueLength;
      if (name === ':event-type') type = value;
    }
    const payload = bytes.toString('utf8', at + 12 + headersLength, at + total - 4);
    out.push({ type, payload: JSON.parse(payload) });
    at += total;
  }
  return out;
};
