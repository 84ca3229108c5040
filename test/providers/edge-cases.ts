/**
 * Edge cases every streaming adapter must survive, registered per adapter by its own test file from a
 * small synthesised valid stream: malformed JSON in a chunk, comments/pings/unknown events, an empty
 * stream, an HTML error page, a 1 MB model string, missing usage, and a stream cut short.
 */
import { describe, expect, it } from 'vitest';
import { MAX_FACT_CHARS } from '../../providers/common.ts';
import type { LlmCall, Usage } from '../../src/record.ts';
import { adapter, type Exchange, replay } from './helpers.ts';

export interface StreamScenario {
  readonly adapter: string;
  /** The request path; a function when the model is named in the URL (Gemini, Bedrock). */
  readonly path: string | ((model: string) => string);
  readonly host?: string;
  readonly contentType: string;
  readonly requestBody: (model: string) => unknown;
  /** The units of a valid stream; `usage: false` leaves every usage field out. */
  readonly units: (options: { model: string; usage: boolean }) => (string | Uint8Array)[];
  /** Joins units into the body (SSE/NDJSON concatenate; a JSON-array stream adds brackets and commas). */
  readonly encode?: (units: readonly (string | Uint8Array)[]) => string | Uint8Array;
  /** A unit whose JSON is broken. */
  readonly malformed: string | Uint8Array;
  /** Units any reader must skip (comments, pings, unknown event types). */
  readonly noise: readonly (string | Uint8Array)[];
  /** Whether the response names the model (Bedrock Converse and Cohere do not). */
  readonly responseNamesModel: boolean;
  readonly expected: {
    readonly responseId: string | undefined;
    readonly finishReasons: readonly string[];
    readonly usage: Usage;
  };
}

const noUsage: Usage = {
  inputTokens: undefined,
  outputTokens: undefined,
  cacheReadInputTokens: undefined,
  cacheCreationInputTokens: undefined,
  reasoningOutputTokens: undefined,
};

const concat = (units: readonly (string | Uint8Array)[]): string | Uint8Array =>
  units.every((unit) => typeof unit === 'string')
    ? units.join('')
    : Buffer.concat(units.map((unit) => (typeof unit === 'string' ? Buffer.from(unit) : unit)));

export const describeStreamEdgeCases = (scenario: StreamScenario): void => {
  const encode = scenario.encode ?? concat;
  const model = 'model-x';
  const pathFor = (name: string): string =>
    typeof scenario.path === 'string' ? scenario.path : scenario.path(name);
  const exchange = (body: string | Uint8Array, overrides: Partial<Exchange> = {}): Exchange => ({
    adapter: scenario.adapter,
    path: pathFor(model),
    ...(scenario.host === undefined ? {} : { host: scenario.host }),
    requestBody: scenario.requestBody(model),
    contentType: scenario.contentType,
    body,
    ...overrides,
  });
  const valid = scenario.units({ model, usage: true });
  const expectFacts = (call: LlmCall, usage: Usage = scenario.expected.usage): void => {
    expect(call.outcome).toBe('completed');
    expect(call.response.error).toBeUndefined();
    expect(call.response.responseId).toBe(scenario.expected.responseId);
    expect(call.response.responseModel).toBe(scenario.responseNamesModel ? model : undefined);
    expect(call.response.finishReasons).toEqual(scenario.expected.finishReasons);
    expect(call.response.usage).toEqual(usage);
    expect(call.request.requestModel).toBe(model);
    expect(call.request.stream).toBe(true);
    expect(call.outputChunks).toBeGreaterThan(0);
  };

  describe(`${scenario.adapter} stream edge cases (synthesised streams)`, () => {
    it('reads the valid stream, whole and byte by byte', async () => {
      expectFacts(await replay(exchange(encode(valid))));
      expectFacts(await replay(exchange(encode(valid)), 'byte'));
    });

    it('skips a chunk with malformed JSON and keeps the rest', async () => {
      const units = [...valid];
      units.splice(2, 0, scenario.malformed);
      const call = await replay(exchange(encode(units)), { random: 5, maxChunk: 9 });
      expectFacts(call);
      expect(call.truncated).toBe(false);
    });

    it('ignores comments, pings and unknown event types', async () => {
      const units = [...valid];
      units.splice(1, 0, ...scenario.noise);
      units.splice(units.length - 1, 0, ...scenario.noise);
      expectFacts(await replay(exchange(encode(units)), 'byte'));
    });

    it('an empty 200 stream is incomplete, with nothing invented', async () => {
      const call = await replay(exchange(encode([])));
      expect(call.outcome).toBe('incomplete');
      expect(call.response.error).toBeUndefined();
      expect(call.response.usage).toEqual(noUsage);
      expect(call.response.finishReasons).toEqual([]);
      expect(call.outputChunks).toBe(0);
    });

    it('an HTML error page from a gateway gives error.type = the HTTP status', async () => {
      const call = await replay(
        exchange('<html><body><h1>502 Bad Gateway</h1></body></html>', {
          status: 502,
          contentType: 'text/html',
        }),
      );
      expect(call.outcome).toBe('errored');
      expect(call.response.error).toEqual({ type: '502', midStream: false });
      expect(call.response.usage).toEqual(noUsage);
      expect(call.response.responseId).toBeUndefined();
    });

    it('caps a 1 MB model string in the request and in the response', async () => {
      const huge = 'm'.repeat(1024 * 1024);
      const call = await replay({
        ...exchange(encode(scenario.units({ model: huge, usage: true }))),
        path: pathFor(huge),
        requestBody: scenario.requestBody(huge),
      });
      // The capture tap may skim a huge request body and leave the member out; if kept, it is capped.
      expect(call.request.requestModel?.length ?? 0).toBeLessThanOrEqual(MAX_FACT_CHARS);
      // The adapter itself caps what it is given.
      const url = new URL(`https://h${pathFor(huge)}`);
      const target = { method: 'POST', path: url.pathname, query: url.searchParams };
      const operation = adapter(scenario.adapter).operationFor(target);
      if (operation === undefined) throw new Error('scenario path is not an LLM call');
      const parsed = adapter(scenario.adapter).parseRequest(operation, target, scenario.requestBody(huge), {
        captureContent: false,
        maxCapturedChars: 0,
      });
      expect(parsed.requestModel).toBe(huge.slice(0, MAX_FACT_CHARS));
      if (scenario.responseNamesModel) {
        expect(call.response.responseModel).toBe(huge.slice(0, MAX_FACT_CHARS));
      }
      expect(call.response.usage).toEqual(scenario.expected.usage);
    });

    it('missing usage stays unknown, never 0', async () => {
      expectFacts(await replay(exchange(encode(scenario.units({ model, usage: false })))), noUsage);
    });

    it('a stream cut before its end is incomplete and its usage unknown', async () => {
      const body = encode(valid);
      const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      const call = await replay(
        exchange(body),
        { random: 9, maxChunk: 13 },
        { cutAfter: Math.floor(length / 2) },
      );
      expect(call.outcome).toBe('incomplete');
      expect(call.response.usage).toEqual(noUsage);
      expect(call.response.error).toBeUndefined();
    });
  });
};
