/**
 * Every recorded provider exchange, replayed by a local upstream and fetched through llmtap: the client must get
 * exactly the recorded status, end-to-end headers and body bytes (gzip and binary eventstream included), the
 * upstream must get exactly the client's request body, and the tap must see exactly the forwarded bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { recordingTap, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const fixtures = loadRecordedFixtures();
const tap = recordingTap();
let upstream: Upstream;
let proxy: TestProxy;
let current: RecordedFixture | undefined;

/** Deterministic piece sizes so that chunk boundaries fall inside UTF-8 sequences and eventstream preludes. */
const pieceSize = (index: number): number => [1, 7, 64, 1500, 16_384][index % 5] as number;

beforeAll(async () => {
  upstream = await startUpstream(async (_req, res) => {
    const fixture = current as RecordedFixture;
    res.writeHead(fixture.response.status, fixture.response.status_text ?? '', replayHeaders(fixture));
    const body = wireBody(fixture);
    const size = pieceSize(fixtures.indexOf(fixture));
    for (let offset = 0; offset < body.length; offset += size) {
      res.write(body.subarray(offset, offset + size));
      if (offset % (size * 64) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  proxy = await startTestProxy(
    {
      routes: [
        {
          prefix: '/replay',
          provider: 'openai-compatible',
          upstream: upstream.url,
          streamUsage: 'passthrough',
        },
      ],
    },
    { tapFactory: tap.factory },
  );
});

afterAll(async () => {
  await proxy.drain(1000);
  await upstream.close();
});

describe('byte-exact replay of recorded provider exchanges through llmtap', () => {
  it('has fixtures to replay', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(100);
  });

  it.each(fixtures.map((fixture) => [fixture.file, fixture] as const))('%s', async (_file, fixture) => {
    current = fixture;
    const requestBody = fixture.request.body === null ? undefined : Buffer.from(fixture.request.body, 'utf8');
    const headers: Record<string, string> = {
      'content-type': fixture.request.headers['content-type'] ?? 'application/json',
    };
    if (fixture.request.headers['accept-encoding'] !== undefined) {
      headers['accept-encoding'] = fixture.request.headers['accept-encoding'];
    }
    const before = upstream.received.length;
    const calls = tap.calls.length;
    const response = await rawRequest(`${proxy.dataUrl}/replay${fixture.request.path}`, {
      method: fixture.request.method,
      headers,
      ...(requestBody === undefined ? {} : { body: requestBody }),
    });

    expect(response.status).toBe(fixture.response.status);
    for (const [name, value] of Object.entries(replayHeaders(fixture))) {
      expect(response.headers[name], name).toBe(value);
    }
    expect(response.body.equals(wireBody(fixture))).toBe(true);

    const received = upstream.received[before];
    expect(received?.url).toBe(fixture.request.path);
    expect(received?.body.equals(requestBody ?? Buffer.alloc(0))).toBe(true);
    expect(received?.headers['x-forwarded-for']).toBeUndefined();
    expect(received?.headers.host).toBe(`127.0.0.1:${upstream.port}`);

    const seen = tap.calls[calls];
    expect(Buffer.concat(seen?.request ?? []).equals(requestBody ?? Buffer.alloc(0))).toBe(true);
    expect(Buffer.concat(seen?.response ?? []).equals(wireBody(fixture))).toBe(true);
    await expect.poll(() => seen?.ended?.complete).toBe(true);
  });
});
