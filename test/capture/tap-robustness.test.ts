/**
 * The tap's promise to the forwarding core: whatever the call order, bytes, headers or adapter behaviour,
 * no method throws, `end()` never rejects, and the observer gets exactly one record per call.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adapters } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { TelemetryStage } from '../../src/call-observer.ts';
import { createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { limitsSchema } from '../../src/config/schema.ts';
import type { CallContext, CallTap } from '../../src/proxy/tap.ts';
import type { LlmCall } from '../../src/record.ts';
import { loadRecordedFixtures, wireBody } from '../helpers/recorded.ts';
import { contextFor } from './drive-tap.ts';
import { createFakeAdapter, type FakeHooks } from './fake-adapter.ts';

type Command =
  | { readonly kind: 'requestBody'; readonly bytes: Uint8Array }
  | { readonly kind: 'requestEnd' }
  | { readonly kind: 'upstreamRequestSent' }
  | { readonly kind: 'responseHead'; readonly status: number; readonly headers: Record<string, string> }
  | { readonly kind: 'responseBody'; readonly bytes: Uint8Array }
  | { readonly kind: 'clientFirstByte' }
  | { readonly kind: 'end'; readonly complete: boolean };

const contentTypes = [
  'text/event-stream',
  'application/json',
  'application/x-ndjson',
  'application/vnd.amazon.eventstream',
  'text/html',
];
const encodings = [undefined, 'gzip', 'br', 'deflate', 'zstd', 'compress', 'identity'];

const bodyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .constantFrom('data: {"text":"a"}\n\n', 'data: {"done":true}\n\n', '{"model":"m"}', '[{"a":1},', '\r\n')
    .map((s) => Buffer.from(s)),
  fc.constant(gzipSync('data: {"text":"z"}\n\n')),
);

const command: fc.Arbitrary<Command> = fc.oneof(
  bodyBytes.map((bytes) => ({ kind: 'requestBody', bytes }) as const),
  fc.constant({ kind: 'requestEnd' } as const),
  fc.constant({ kind: 'upstreamRequestSent' } as const),
  fc
    .tuple(
      fc.constantFrom(200, 400, 429, 500),
      fc.constantFrom(...contentTypes),
      fc.constantFrom(...encodings),
    )
    .map(([status, type, encoding]) => ({
      kind: 'responseHead' as const,
      status,
      headers: { 'content-type': type, ...(encoding === undefined ? {} : { 'content-encoding': encoding }) },
    })),
  bodyBytes.map((bytes) => ({ kind: 'responseBody', bytes }) as const),
  fc.constant({ kind: 'clientFirstByte' } as const),
  fc.boolean().map((complete) => ({ kind: 'end', complete }) as const),
);

interface Outcome {
  readonly calls: LlmCall[];
  readonly errors: TelemetryStage[];
}

const drive = async (tap: CallTap, commands: readonly Command[]): Promise<void> => {
  let at = 0;
  for (const c of commands) {
    at += 1;
    switch (c.kind) {
      case 'requestBody':
        tap.requestBody(c.bytes);
        break;
      case 'requestEnd':
        tap.requestEnd();
        break;
      case 'upstreamRequestSent':
        tap.upstreamRequestSent(at);
        break;
      case 'responseHead':
        tap.responseHead(c.status, c.headers, at);
        break;
      case 'responseBody':
        tap.responseBody(c.bytes, at);
        break;
      case 'clientFirstByte':
        tap.clientFirstByte(at);
        break;
      case 'end':
        await tap.end({ at, complete: c.complete, copyTruncated: false });
        break;
    }
  }
  // The core always ends a call; a second end() must be harmless.
  await tap.end({ at: at + 1, complete: false, copyTruncated: false, transportError: 'UND_ERR_SOCKET' });
};

/** A tap on `adapter` whose observer and error sink record into the returned outcome. */
const openTap = (
  adapter: ProviderAdapter,
  context: CallContext,
): { tap: CallTap | undefined; outcome: Outcome } => {
  const outcome: Outcome = { calls: [], errors: [] };
  const tap = createCaptureTapFactory({
    adapterFor: () => adapter,
    observer: {
      start: () => ({
        finish: (call) => {
          outcome.calls.push(call);
          return undefined;
        },
      }),
    },
    limits,
    parseOptions: { captureContent: true, maxCapturedChars: 100 },
    onError: (stage) => outcome.errors.push(stage),
  }).open(context);
  return { tap, outcome };
};

const limits = { ...limitsSchema.parse({}), maxFrameBytes: 256, maxDecodedBytes: 4096 };

const fakeUrl = new URL('https://api.fake.test/v1/chat');
const fakeContext: CallContext = {
  route: { prefix: '/fake', provider: 'fake', upstream: 'https://api.fake.test' },
  target: { method: 'POST', path: fakeUrl.pathname, query: fakeUrl.searchParams },
  upstreamUrl: fakeUrl,
  requestHeaders: {},
  start: 0,
};

describe('capture tap robustness', () => {
  it('never throws and records each call exactly once, whatever the call order and adapter failures', async () => {
    const throwIns: (FakeHooks['throwIn'] | undefined)[] = [
      undefined,
      'parseRequest',
      'framing',
      'createParser',
      'push',
      'finish',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...throwIns),
        fc.array(command, { maxLength: 25 }),
        async (throwIn, commands) => {
          const adapter = createFakeAdapter(throwIn === undefined ? {} : { throwIn });
          const { tap, outcome } = openTap(adapter, fakeContext);
          expect(tap).toBeDefined();
          if (tap === undefined) return;
          await drive(tap, commands);
          expect(outcome.calls).toHaveLength(1);
          // At most one pipeline failure is reported per call.
          expect(outcome.errors.filter((s) => s !== 'observer').length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  const fixtures = loadRecordedFixtures();

  it('never throws with the real adapters, on recorded requests with arbitrary or damaged responses', async () => {
    const cases = fixtures.flatMap((fixture) => {
      const adapter = adapters.find((a) => a.id === fixture.provider);
      return adapter === undefined ? [] : [{ fixture, adapter }];
    });
    expect(cases.length).toBeGreaterThan(80);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...cases),
        fc.oneof(
          fc.uint8Array({ maxLength: 500 }),
          fc
            .tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 8 }))
            .map(([seed, value, count]) => ({ seed, value, count })),
        ),
        fc.array(fc.nat({ max: 600 }), { maxLength: 10 }),
        fc.boolean(),
        async ({ fixture, adapter }, bodySpec, cuts, complete) => {
          let body: Buffer;
          if (bodySpec instanceof Uint8Array) body = Buffer.from(bodySpec);
          else {
            // The recorded body with a few bytes overwritten: almost-valid input reaches deep parser states.
            body = Buffer.from(wireBody(fixture));
            for (let i = 0; i < bodySpec.count && body.length > 0; i++)
              body[(bodySpec.seed + i * 7919) % body.length] = bodySpec.value;
          }
          const { tap, outcome } = openTap(adapter, contextFor(fixture, adapter));
          if (tap === undefined) return;
          if (fixture.request.body !== null) tap.requestBody(Buffer.from(fixture.request.body));
          tap.requestEnd();
          tap.responseHead(fixture.response.status, { ...fixture.response.headers }, 1);
          const sorted = [...new Set(cuts.map((c) => Math.min(c, body.length)))].sort((a, b) => a - b);
          let last = 0;
          for (const cut of [...sorted, body.length]) {
            tap.responseBody(body.subarray(last, cut), 2);
            last = cut;
          }
          await tap.end({ at: 3, complete, copyTruncated: false });
          expect(outcome.calls).toHaveLength(1);
          expect(outcome.errors.length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 400 },
    );
  });
});
