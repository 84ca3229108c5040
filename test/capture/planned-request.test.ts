/**
 * A request the streaming-usage plan already parsed whole is not parsed again: the tap reads its facts from the
 * plan's value. Differential: for every recorded exchange whose adapter injects streaming usage, and for bodies
 * shaped to miss the reuse (content coding, BOM, cut copy, over 64 KB, malformed), the record through
 * `rewriteRequest` + `requestBody` must equal the record through `requestBody` alone.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adapterById } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { CallObserver } from '../../src/call-observer.ts';
import { createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { type Limits, limitsSchema } from '../../src/config/schema.ts';
import type { LlmCall } from '../../src/record.ts';
import { loadRecordedFixtures, type RecordedFixture, wireBody } from '../helpers/recorded.ts';
import { adapterIdFor } from '../providers/expected.ts';
import { contextFor } from './drive-tap.ts';

interface Drive {
  readonly rewrite: boolean;
  readonly captureContent: boolean;
  readonly limits?: Partial<Limits>;
  readonly requestHeaders?: Readonly<Record<string, string>>;
}

const drive = (fixture: RecordedFixture, adapter: ProviderAdapter, body: Buffer, how: Drive): LlmCall => {
  const calls: LlmCall[] = [];
  const observer: CallObserver = { start: () => ({ finish: (call) => void calls.push(call) }) };
  const limits: Limits = { ...limitsSchema.parse({}), ...how.limits };
  const errors: unknown[] = [];
  const factory = createCaptureTapFactory({
    adapterFor: () => adapter,
    observer,
    limits,
    parseOptions: { captureContent: how.captureContent, maxCapturedChars: limits.maxCapturedChars },
    onError: (_stage, error) => errors.push(error),
  });
  const context = contextFor(fixture, adapter);
  const tap = factory.open({
    ...context,
    requestHeaders: { ...context.requestHeaders, ...how.requestHeaders },
  });
  if (tap === undefined) throw new Error(`${fixture.file}: no tap`);
  if (how.rewrite) {
    expect(tap.rewritesRequest).toBe(true);
    tap.rewriteRequest?.(body);
  }
  // The feed hands the client's body to the tap once, whole, after a rewrite; in chunks otherwise.
  if (how.rewrite) tap.requestBody(body);
  else for (let i = 0; i < body.length; i += 100) tap.requestBody(body.subarray(i, i + 100));
  tap.requestEnd();
  tap.upstreamRequestSent(1_001);
  tap.responseHead(
    fixture.response.status,
    { 'content-type': fixture.response.headers['content-type'] ?? '' },
    1_100,
  );
  tap.responseBody(wireBody(fixture), 1_200);
  tap.clientFirstByte(1_150);
  const ended = tap.end({ at: 5_000, complete: true, copyTruncated: false });
  if (ended instanceof Promise) throw new Error('unexpected asynchronous end');
  const call = calls[0];
  if (call === undefined) throw new Error(`${fixture.file}: no record`);
  return call;
};

const same = (
  fixture: RecordedFixture,
  adapter: ProviderAdapter,
  body: Buffer,
  extra: Partial<Drive> = {},
) => {
  for (const captureContent of [false, true]) {
    const plain = drive(fixture, adapter, body, { rewrite: false, captureContent, ...extra });
    const rewritten = drive(fixture, adapter, body, { rewrite: true, captureContent, ...extra });
    expect(rewritten, `${fixture.file} capture=${captureContent}`).toEqual(plain);
  }
};

const injecting = loadRecordedFixtures().filter((fixture) => {
  const adapter = adapterById(adapterIdFor(fixture));
  return (
    adapter?.streamUsage !== undefined && fixture.request.method === 'POST' && fixture.request.body !== null
  );
});

describe("request facts from the usage plan's parse", () => {
  it('has recorded streaming requests of injecting adapters, with and without stream_options', () => {
    const streaming = injecting.filter((fixture) => fixture.request.body?.includes('"stream"'));
    expect(streaming.length).toBeGreaterThan(5);
    expect(streaming.some((fixture) => fixture.request.body?.includes('"stream_options"'))).toBe(true);
    expect(streaming.some((fixture) => !fixture.request.body?.includes('"stream_options"'))).toBe(true);
  });

  for (const fixture of injecting) {
    it(`${fixture.file}: same record as parsing the copy`, () => {
      const adapter = adapterById(adapterIdFor(fixture)) as ProviderAdapter;
      same(fixture, adapter, Buffer.from(fixture.request.body as string, 'utf8'));
    });
  }

  describe('bodies the reuse must leave to the copy', () => {
    const fixture = injecting.find((f) => f.name === 'chat_stream_include_usage') ?? injecting[0];
    if (fixture === undefined) throw new Error('no fixture');
    const adapter = adapterById(adapterIdFor(fixture)) as ProviderAdapter;
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true };
    const text = JSON.stringify(request);

    it('a gzip-coded body (the plan cannot parse it; the copy is decoded)', () => {
      same(fixture, adapter, gzipSync(Buffer.from(text)), { requestHeaders: { 'content-encoding': 'gzip' } });
    });
    it('a body with leading whitespace and a BOM', () => {
      same(fixture, adapter, Buffer.from(`  ${text}`));
      same(fixture, adapter, Buffer.from(`\ufeff${text}`));
    });
    it('a copy cut by the frame limit or the shared budget', () => {
      const long = Buffer.from(
        JSON.stringify({ ...request, messages: [{ role: 'user', content: 'x'.repeat(3000) }] }),
      );
      same(fixture, adapter, long, { limits: { maxFrameBytes: 1024 } });
      same(fixture, adapter, long, { limits: { maxRequestCopyTotalBytes: 1024 } });
    });
    it('a body over 64 KB (skimmed, not parsed whole, without content capture)', () => {
      same(
        fixture,
        adapter,
        Buffer.from(
          JSON.stringify({ ...request, messages: [{ role: 'user', content: 'y'.repeat(70_000) }] }),
        ),
      );
    });
    it('malformed JSON and a non-streaming body', () => {
      same(fixture, adapter, Buffer.from(text.slice(0, -2)));
      same(fixture, adapter, Buffer.from(JSON.stringify({ ...request, stream: false })));
    });
  });
});
