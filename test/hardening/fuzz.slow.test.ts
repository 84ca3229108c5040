/**
 * Property-based fuzzing of the whole product (config → adapters → capture → telemetry → proxy), seeded from the
 * recorded provider exchanges: upstream responses mutated (bit flips, inserted/deleted/duplicated ranges,
 * truncation, wrong content-type or content-encoding, other statuses), re-chunked at random points and sometimes
 * reset mid-body; requests mutated the same way. Invariants, for every case:
 *   - the client receives exactly the upstream's status and body bytes, or — when the upstream reset — a failed
 *     response whose bytes are a prefix of what the upstream sent, never a clean end;
 *   - the upstream receives exactly the client's request body bytes;
 *   - the process stays up and serving, with no unhandled rejection or uncaught exception.
 * Reproduce a failure with FUZZ_SEED=<seed> (printed by fast-check). Slow tier: ~700 proxied exchanges, 20 s of CPU
 * alone and several times that on a busy machine.
 */
import { type IncomingMessage, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { type CountingUpstream, startCountingUpstream } from './helpers.ts';

const providerOf: Readonly<Record<string, string>> = {
  anthropic: 'anthropic',
  'azure-openai': 'azure-openai',
  bedrock: 'bedrock',
  cohere: 'cohere',
  gemini: 'gemini',
  groq: 'groq',
  mistral: 'mistral',
  ollama: 'ollama',
  openai: 'openai',
  'openai-compatible': 'openai-compatible',
  together: 'together',
};

/** Fixture folders whose routes also get a `streamUsage: inject` twin under `/inject-<dir>`. */
const injectDirs: readonly string[] = ['openai', 'groq', 'together', 'openai-compatible'];

const fixtures = loadRecordedFixtures().filter(
  (f) => providerOf[f.file.split('/')[0] as string] !== undefined,
);
const dirOf = (f: RecordedFixture): string => f.file.split('/')[0] as string;

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 200 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

const applyMutations = (body: Buffer, mutations: readonly Mutation[]): Buffer => {
  let out = Buffer.from(body);
  for (const m of mutations) {
    if (m.kind === 'none' || out.length === 0) continue;
    const at = m.at % (out.length + 1);
    switch (m.kind) {
      case 'flip': {
        if (at < out.length) out[at] = (out[at] as number) ^ (1 << m.bit);
        break;
      }
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'duplicate':
        out = Buffer.concat([out.subarray(0, at + m.length), out.subarray(at)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
};

/** Splits `body` at the given fractions (each piece is written in its own event-loop turn). */
const rechunk = (body: Buffer, cuts: readonly number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => Math.floor(c * body.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    if (point > from && point < body.length) {
      pieces.push(body.subarray(from, point));
      from = point;
    }
  }
  pieces.push(body.subarray(from));
  return pieces.filter((p) => p.length > 0);
};

interface ResponsePlan {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly pieces: Buffer[];
  readonly framing: 'content-length' | 'chunked';
  /** Reset the connection after this many pieces (undefined: end cleanly). */
  readonly resetAfter: number | undefined;
}

const plans = new Map<string, ResponsePlan>();
let nextId = 0;

let upstream: CountingUpstream;
let app: TestLlmtap;
const faults: unknown[] = [];
const onFault = (reason: unknown): void => {
  faults.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onFault);
  process.on('uncaughtException', onFault);
  upstream = await startCountingUpstream(async (req, res) => {
    const plan = plans.get(String(req.headers['x-fuzz-case']));
    if (plan === undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"health":true}');
      return;
    }
    const total = plan.pieces.reduce((n, p) => n + p.length, 0);
    const headers: Record<string, string> = { ...plan.headers };
    if (plan.framing === 'content-length') headers['content-length'] = String(total);
    res.writeHead(plan.status, headers);
    for (const [index, piece] of plan.pieces.entries()) {
      if (plan.resetAfter !== undefined && index >= plan.resetAfter) break;
      res.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (plan.resetAfter !== undefined) res.socket?.resetAndDestroy();
    else res.end();
  });
  app = await startFullLlmtap({
    routes: [
      ...Object.entries(providerOf).map(([dir, provider]) => ({
        prefix: `/${dir}`,
        provider,
        upstream: upstream.url,
        streamUsage: 'passthrough',
      })),
      ...injectDirs.map((dir) => ({
        prefix: `/inject-${dir}`,
        provider: providerOf[dir] as string,
        upstream: upstream.url,
        streamUsage: 'inject',
      })),
    ],
    logLevel: 'warn',
  });
});

afterAll(async () => {
  process.off('unhandledRejection', onFault);
  process.off('uncaughtException', onFault);
  await app.shutdown();
  await upstream.close();
});

interface ClientResult {
  readonly status: number;
  readonly body: Buffer;
  readonly ending: 'clean' | 'failed';
}

/** A client that reports how the response ended instead of throwing. */
const fetchRaw = (
  url: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  method: string,
  chunked = false,
) =>
  new Promise<ClientResult>((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let done = false;
    const finish = (ending: 'clean' | 'failed'): void => {
      if (done) return;
      done = true;
      resolve({ status, body: Buffer.concat(chunks), ending });
    };
    const req = request(url, { method, headers }, (res: IncomingMessage) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(res.complete ? 'clean' : 'failed'));
      res.on('error', () => finish('failed'));
      res.on('close', () => finish(res.complete ? 'clean' : 'failed'));
    });
    req.on('error', () => finish('failed'));
    if (chunked && body !== undefined) {
      // Transfer-Encoding: chunked, in two chunks split in the middle.
      req.setHeader('transfer-encoding', 'chunked');
      req.write(body.subarray(0, body.length >> 1));
      req.end(body.subarray(body.length >> 1));
    } else {
      req.end(body);
    }
  });

const contentTypes = [
  undefined,
  'text/event-stream',
  'application/json',
  'application/x-ndjson',
  'application/vnd.amazon.eventstream',
  'text/html',
];

const responseCase = fc.record({
  fixture: fc.constantFrom(...fixtures),
  mutations: fc.array(mutationArb, { maxLength: 3 }),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  framing: fc.constantFrom('content-length' as const, 'chunked' as const),
  status: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    fc.constantFrom(200, 400, 429, 500, 503),
  ),
  contentType: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom(...contentTypes)),
  claimGzip: fc.boolean().map((b) => b && Math.random() < 0.3),
  reset: fc.option(fc.nat({ max: 20 }), { freq: 4 }),
});

const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/**
 * Each property is a fixed amount of work (5-20 s alone), many times slower on a loaded machine; a test that timed
 * out would keep its property running under the next test.
 */
const fuzzTimeoutMs = 180_000;

describe('fuzzing the whole product with mutated recorded exchanges', () => {
  it(
    'mutated, re-chunked and reset upstream responses reach the client byte for byte (or as a reset)',
    async () => {
      await fc.assert(
        fc.asyncProperty(responseCase, async (c) => {
          const body = applyMutations(wireBody(c.fixture), c.mutations);
          const pieces = rechunk(body, c.cuts);
          const headers = replayHeaders(c.fixture);
          if (c.contentType !== undefined) headers['content-type'] = c.contentType;
          if (c.claimGzip) headers['content-encoding'] = 'gzip';
          const resetAfter = c.reset === null ? undefined : Math.min(c.reset, pieces.length);
          const id = String(nextId++);
          plans.set(id, {
            status: c.status ?? c.fixture.response.status,
            headers,
            pieces,
            framing: c.framing,
            resetAfter,
          });
          const requestBody =
            c.fixture.request.body === null ? undefined : Buffer.from(c.fixture.request.body);
          const result = await fetchRaw(
            `${app.server.dataUrl}/${dirOf(c.fixture)}${c.fixture.request.path}`,
            { 'content-type': 'application/json', 'x-fuzz-case': id },
            requestBody,
            c.fixture.request.method,
          );
          plans.delete(id);
          if (resetAfter === undefined) {
            expect(result.status).toBe(c.status ?? c.fixture.response.status);
            expect(result.ending).toBe('clean');
            expect(result.body.equals(body)).toBe(true);
          } else {
            const sent = Buffer.concat(pieces.slice(0, resetAfter));
            // A reset before any response head may surface as llmtap's 502; after the head, as a failed stream.
            if (result.status === 502 && result.body.toString().includes('LLMTAP_UPSTREAM')) return;
            // A reset after a complete Content-Length body ends nothing the client was owed: it may get the whole
            // body cleanly, or (when the RST overtakes unread bytes) a failure. An incomplete body is always a failure.
            const completeByFraming = c.framing === 'content-length' && sent.length === body.length;
            if (completeByFraming && result.ending === 'clean') {
              expect(result.body.equals(body)).toBe(true);
            } else {
              expect(result.ending).toBe('failed');
              expect(sent.subarray(0, result.body.length).equals(result.body)).toBe(true);
            }
          }
          expect(faults).toEqual([]);
        }),
        { numRuns: 250, ...(seed === undefined ? {} : { seed }) },
      );
      expect((await rawRequest(`${app.server.dataUrl}/openai/v1/models`)).status).toBe(200);
    },
    fuzzTimeoutMs,
  );

  it(
    'mutated request bodies (Content-Length or chunked, small or streamed) reach the upstream byte for byte, and the answer comes back unchanged',
    async () => {
      const withBodies = fixtures.filter((f) => f.request.body !== null);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...withBodies),
          fc.array(mutationArb, { maxLength: 4 }),
          fc.option(fc.uint8Array({ maxLength: 512 }), { freq: 5 }),
          fc.boolean(),
          fc.boolean(),
          fc.option(fc.integer({ min: 200_000, max: 6_000_000 }), { freq: 4 }),
          async (fixture, mutations, garbage, viaInject, chunked, padding) => {
            const original = Buffer.from(fixture.request.body as string);
            const mutated = garbage === null ? applyMutations(original, mutations) : Buffer.from(garbage);
            // Sometimes large (trailing JSON whitespace): past the 256 KiB read-ahead the body streams instead.
            const sent = padding === null ? mutated : Buffer.concat([mutated, Buffer.alloc(padding, 0x20)]);
            const inject = viaInject && injectDirs.includes(dirOf(fixture));
            const id = String(nextId++);
            plans.set(id, {
              status: fixture.response.status,
              headers: replayHeaders(fixture),
              pieces: [wireBody(fixture)],
              framing: 'content-length',
              resetAfter: undefined,
            });
            const result = await fetchRaw(
              `${app.server.dataUrl}/${inject ? 'inject-' : ''}${dirOf(fixture)}${fixture.request.path}`,
              { 'content-type': 'application/json', 'x-fuzz-case': id },
              sent,
              fixture.request.method,
              chunked,
            );
            plans.delete(id);
            expect(result.status).toBe(fixture.response.status);
            expect(result.ending).toBe('clean');
            // On injection routes the filter may legitimately remove what the injection added from the answer.
            if (!inject) expect(result.body.equals(wireBody(fixture))).toBe(true);
            // This case's upstream request, found by its id (not by counting: a case of another test still in flight
            // would shift a count).
            const mine = upstream.completed.filter((r) => r.headers['x-fuzz-case'] === id);
            expect(mine).toHaveLength(1);
            const received = mine[0]?.body as Buffer;
            if (inject && !received.equals(sent)) {
              // The only change injection may make: its member, inserted right after the opening brace.
              const open = sent.indexOf('{');
              const member = received
                .subarray(open + 1, received.length - (sent.length - open - 1))
                .toString();
              expect([
                '"stream_options":{"include_usage":true},',
                '"stream_options":{"include_usage":true}',
              ]).toContain(member);
              expect(
                Buffer.concat([
                  received.subarray(0, open + 1),
                  received.subarray(open + 1 + member.length),
                ]).equals(sent),
              ).toBe(true);
            } else {
              expect(received.equals(sent)).toBe(true);
            }
            expect(faults).toEqual([]);
          },
        ),
        { numRuns: 150, ...(seed === undefined ? {} : { seed }) },
      );
    },
    fuzzTimeoutMs,
  );

  it(
    'usage-injection routes: mutated OpenAI-dialect streams never crash the filter, end as the upstream ended, and pass untouched when there is nothing to remove',
    async () => {
      const dialect = fixtures.filter((f) => injectDirs.includes(dirOf(f)) && f.request.body !== null);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...dialect),
          fc.array(mutationArb, { maxLength: 3 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
          fc.option(fc.nat({ max: 10 }), { freq: 5 }),
          async (fixture, mutations, cuts, reset) => {
            const body = applyMutations(wireBody(fixture), mutations);
            const pieces = rechunk(body, cuts);
            const resetAfter = reset === null ? undefined : Math.min(reset, pieces.length);
            const id = String(nextId++);
            plans.set(id, {
              status: fixture.response.status,
              headers: replayHeaders(fixture),
              pieces,
              framing: 'chunked',
              resetAfter,
            });
            const result = await fetchRaw(
              `${app.server.dataUrl}/inject-${dirOf(fixture)}${fixture.request.path}`,
              { 'content-type': 'application/json', 'x-fuzz-case': id },
              Buffer.from(fixture.request.body as string),
              fixture.request.method,
            );
            plans.delete(id);
            if (resetAfter === undefined) {
              expect(result.ending).toBe('clean');
              expect(result.status).toBe(fixture.response.status);
              const text = body.toString('latin1');
              if (!text.includes('"usage"') && !/"choices"\s*:\s*\[\s*\]/.test(text)) {
                expect(result.body.equals(body)).toBe(true);
              }
            } else if (!(result.status === 502 && result.body.toString().includes('LLMTAP_UPSTREAM'))) {
              // Chunked framing: without the terminal chunk the response is never complete.
              expect(result.ending).toBe('failed');
            }
            expect(faults).toEqual([]);
          },
        ),
        { numRuns: 120, ...(seed === undefined ? {} : { seed }) },
      );
      expect((await rawRequest(`${app.server.dataUrl}/openai/v1/models`)).status).toBe(200);
    },
    fuzzTimeoutMs,
  );
});

/** What the upstream must receive from a client header list: hop-by-hop and Connection-named headers removed. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Set by the client library or by llmtap itself (Host, framing, W3C trace context of llmtap's span). */
const notCompared = new Set([
  'host',
  'content-length',
  'expect',
  'traceparent',
  'tracestate',
  'baggage',
  // The case id (no X- prefix, so the generator never makes it).
  'fuzz-case-id',
]);

describe('fuzzing request headers', () => {
  it(
    'random end-to-end headers (duplicates, any case) reach the upstream in order; hop-by-hop and Connection-named ones never do',
    async () => {
      // (Upgrade is left out: with Connection: upgrade it is a WebSocket handshake, another path; Trailer is refused by
      // Node's client on a request without a chunked body.)
      const nameArb = fc.oneof(
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).map((n) => `X-${n}`),
        fc.constantFrom(
          'keep-alive',
          'te',
          'proxy-authorization',
          'authorization',
          'x-api-key',
          'accept',
          'user-agent',
          'openai-beta',
          'anthropic-version',
          'X-Stainless-Retry-Count',
        ),
      );
      const valueArb = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(nameArb, valueArb), { maxLength: 30 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          async (pairs, connectionPicks) => {
            // Some of the client's own header names, listed in Connection (hop-by-hop by declaration).
            const named = connectionPicks
              .map((i) => pairs[i % Math.max(1, pairs.length)]?.[0])
              .filter((n) => n !== undefined);
            // An array of headers is sent as is: Node adds no Host of its own.
            const id = String(nextId++);
            const raw: string[] = ['Host', new URL(app.server.dataUrl).host, 'fuzz-case-id', id];
            for (const [name, value] of pairs) raw.push(name, value);
            if (named.length > 0) raw.push('Connection', named.join(', '));
            const result = await new Promise<number>((resolve) => {
              const req = request(
                `${app.server.dataUrl}/openai/v1/models`,
                { method: 'GET', headers: raw },
                (res) => {
                  res.resume();
                  res.on('end', () => resolve(res.statusCode ?? 0));
                },
              );
              req.on('error', () => resolve(-1));
              req.end();
            });
            expect(result).toBe(200);
            const mine = upstream.completed.filter((r) => r.headers['fuzz-case-id'] === id);
            expect(mine).toHaveLength(1);
            const dropped = new Set([...hopByHop, ...named.map((n) => n.toLowerCase())]);
            const expected = pairs
              .filter(([name]) => !dropped.has(name.toLowerCase()) && !notCompared.has(name.toLowerCase()))
              .map(([name, value]) => `${name}: ${value}`);
            const got = mine[0]?.rawHeaders ?? [];
            const received: string[] = [];
            for (let i = 0; i + 1 < got.length; i += 2) {
              const name = got[i] as string;
              if (notCompared.has(name.toLowerCase()) || name.toLowerCase() === 'connection') continue;
              // Names keep the client's spelling and case.
              received.push(`${name}: ${got[i + 1]}`);
            }
            expect(received).toEqual(expected);
            expect(faults).toEqual([]);
          },
        ),
        { numRuns: 150, ...(seed === undefined ? {} : { seed }) },
      );
    },
    fuzzTimeoutMs,
  );
});
