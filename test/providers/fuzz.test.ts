/**
 * No input makes an adapter throw or report an impossible fact: arbitrary request bodies, statuses and
 * frames (random JSON, random text, recorded frames cut short) through every adapter, for every API path
 * the recorded fixtures use. An adapter that threw would cost the call its facts (the tap fails open).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FACT_CHARS } from '../../providers/common.ts';
import { adapters } from '../../providers/index.ts';
import type { Frame, ParsedResponse, RequestTarget } from '../../src/adapter.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { adapterIdFor } from './expected.ts';

const fixtures = loadRecordedFixtures();

/** Recorded frame payloads to mutate: the SSE `data:` lines and NDJSON lines of the text fixtures. */
const recordedTexts = fixtures
  .filter((fixture) => fixture.response.body_encoding === 'utf8')
  .flatMap((fixture) => fixture.response.body.split('\n'))
  .map((line) => (line.startsWith('data: ') ? line.slice(6) : line))
  .filter((line) => line.length > 0 && line.length < 4000);

const EVENTS = [
  undefined,
  'error',
  'message_start',
  'message_delta',
  'message_stop',
  'content_block_delta',
  'response.completed',
  'response.failed',
  'message-end',
  'stream-start',
  'metadata',
  'messageStop',
  'contentBlockDelta',
  'chunk',
  'throttlingException',
];

const frameArb: fc.Arbitrary<Frame> = fc.record({
  event: fc.constantFrom(...EVENTS),
  text: fc.oneof(
    fc.json(),
    fc.string({ maxLength: 200 }),
    fc.constantFrom(...recordedTexts),
    fc
      .tuple(fc.constantFrom(...recordedTexts), fc.nat())
      .map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
    fc.constant('[DONE]'),
    fc.jsonValue().map((value) => JSON.stringify({ bytes: btoa(JSON.stringify(value)) })),
  ),
  messageType: fc.constantFrom(undefined, 'event', 'exception', 'error'),
});

const isCount = (value: number | undefined): boolean =>
  value === undefined || (Number.isInteger(value) && value >= 0);

const checkResponse = (parsed: ParsedResponse): void => {
  for (const value of Object.values(parsed.usage)) expect(isCount(value)).toBe(true);
  for (const text of [parsed.responseId, parsed.responseModel]) {
    if (text !== undefined) expect(text.length).toBeLessThanOrEqual(MAX_FACT_CHARS);
  }
  for (const reason of parsed.finishReasons) expect(typeof reason).toBe('string');
  if (parsed.error !== undefined) expect(parsed.error.type.length).toBeLessThanOrEqual(64);
  expect(typeof parsed.terminal).toBe('boolean');
};

describe('adapters never throw and never report impossible facts (fuzz)', () => {
  for (const adapter of adapters) {
    const paths = [
      ...new Set(
        fixtures.filter((fixture) => adapterIdFor(fixture) === adapter.id).map((f) => f.request.path),
      ),
    ];
    if (paths.length === 0) paths.push('/v1/chat/completions');
    const targets: RequestTarget[] = paths.map((path) => {
      const url = new URL(`https://h${path}`);
      return { method: 'POST', path: url.pathname, query: url.searchParams };
    });

    it(`${adapter.id}: arbitrary bodies, statuses and frames`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...targets),
          fc.jsonValue(),
          fc.constantFrom(200, 400, 404, 429, 500, 529),
          fc.constantFrom(
            undefined,
            'text/event-stream',
            'application/json',
            'application/x-ndjson',
            'text/html',
          ),
          fc.array(frameArb, { maxLength: 25 }),
          fc.boolean(),
          fc.boolean(),
          (target, body, status, contentType, frames, complete, captureContent) => {
            const operation = adapter.operationFor(target);
            if (operation === undefined) return;
            const options = { captureContent, maxCapturedChars: 64 };
            const request = adapter.parseRequest(operation, target, body, options);
            if (request.requestModel !== undefined) {
              expect(request.requestModel.length).toBeLessThanOrEqual(MAX_FACT_CHARS);
            }
            const head = {
              status,
              headers: contentType === undefined ? {} : { 'content-type': contentType },
              contentType,
            };
            expect(typeof adapter.framing(request, head)).toBe('string');
            const parser = adapter.createParser(request, head, options);
            let outputs = 0;
            for (const frame of frames) parser.push(frame, { output: () => outputs++ });
            checkResponse(parser.finish(complete));
            if (status >= 400) expect(parser.finish(complete).error).toBeDefined();
          },
        ),
        { numRuns: 150, seed: 424242 },
      );
    });
  }
});
