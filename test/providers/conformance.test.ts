/**
 * Every recorded provider exchange through the real path — content decoding, framing decoder, adapter,
 * capture tap — three ways (whole body, one byte at a time, seeded random splits that land inside UTF-8
 * sequences, `\r\n` pairs and eventstream preludes), and the record must equal the fixture's `expected`
 * block (mapped to semconv in ./expected.ts) every time.
 */
import { describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { LlmCall } from '../../src/record.ts';
import { type Chunking, replayFixtureThroughTap } from '../capture/drive-tap.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { adapterIdFor, expectedRecord } from './expected.ts';

const fixtures = loadRecordedFixtures();

/** Fixtures deliberately not replayed, with the reason. None today: every recorded exchange is covered. */
const NOT_COVERED: Readonly<Record<string, string>> = {};

const CHUNKINGS: readonly [string, Chunking][] = [
  ['whole body', 'whole'],
  ['one byte at a time', 'byte'],
  ['random splits (seed 1)', { random: 1, maxChunk: 16 }],
  ['random splits (seed 7)', { random: 7, maxChunk: 64 }],
  ['random splits (seed 42)', { random: 42, maxChunk: 512 }],
];

const factsOf = (call: LlmCall) => ({
  operation: call.request.operation,
  stream: call.request.stream,
  requestModel: call.request.requestModel,
  responseModel: call.response.responseModel,
  responseId: call.response.responseId,
  usage: call.response.usage,
  finishReasons: call.response.finishReasons,
  error: call.response.error,
  outcome: call.outcome,
});

describe('recorded fixtures through the capture tap and the adapters', () => {
  it('covers every recorded fixture (or lists why not)', () => {
    expect(fixtures.length).toBe(119);
    for (const fixture of fixtures) {
      if (NOT_COVERED[fixture.file] !== undefined) continue;
      const adapter = adapterById(adapterIdFor(fixture));
      expect(adapter, fixture.file).toBeDefined();
    }
  });

  for (const fixture of fixtures) {
    if (NOT_COVERED[fixture.file] !== undefined) continue;
    describe(fixture.file, () => {
      const adapter = adapterById(adapterIdFor(fixture));
      const expected = expectedRecord(fixture);
      for (const [name, chunking] of CHUNKINGS) {
        it(name, async () => {
          if (adapter === undefined) throw new Error(`no adapter ${adapterIdFor(fixture)}`);
          const call = await replayFixtureThroughTap(fixture, adapter, chunking);
          expect(factsOf(call)).toEqual(expected);
          expect(call.provider).toBe(adapter.providerName);
          expect(call.truncated).toBe(false);
        });
      }
    });
  }
});
