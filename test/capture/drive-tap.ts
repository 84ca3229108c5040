/**
 * Replays a recorded exchange through the capture tap without a network: open → request body → head →
 * response body (re-chunked as asked) → end, and returns the `LlmCall` the observer received.
 * For adapter conformance tests: the record must not depend on how the body was chunked.
 */
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { CallObserver, TelemetryStage } from '../../src/call-observer.ts';
import { createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { type Limits, limitsSchema, type RouteConfig } from '../../src/config/schema.ts';
import type { CallContext } from '../../src/proxy/tap.ts';
import type { LlmCall } from '../../src/record.ts';
import { type RecordedFixture, wireBody } from '../helpers/recorded.ts';

/** `whole`: one chunk; `byte`: 1-byte chunks; `size`: fixed-size chunks; `random`: seeded random splits. */
export type Chunking =
  | 'whole'
  | 'byte'
  | { readonly size: number }
  | { readonly random: number; readonly maxChunk?: number };

export interface ReplayOptions {
  readonly captureContent?: boolean;
  readonly limits?: Partial<Limits>;
  /** Ends the body as cut (`complete: false`) after this many response bytes. */
  readonly cutAfter?: number;
}

export interface ReplayResult {
  readonly call: LlmCall;
  readonly errors: readonly { readonly stage: TelemetryStage; readonly error: unknown }[];
  /** What `end()` returned (the observer's log fields). */
  readonly logFields: unknown;
}

/** A small deterministic PRNG (mulberry32) so a failing split can be reproduced from its seed. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/** Splits `bytes` as `chunking` says; the chunks are views (no copies). */
export const splitBytes = (bytes: Uint8Array, chunking: Chunking): Uint8Array[] => {
  if (chunking === 'whole') return [bytes];
  const chunks: Uint8Array[] = [];
  if (chunking === 'byte' || 'size' in chunking) {
    const size = chunking === 'byte' ? 1 : Math.max(1, chunking.size);
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    return chunks;
  }
  const next = seededRandom(chunking.random);
  const maxChunk = Math.max(1, chunking.maxChunk ?? 64);
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(next() * maxChunk);
    chunks.push(bytes.subarray(i, i + size));
    i += size;
  }
  return chunks;
};

/** The response headers the tap sees: a recorder that already gunzipped the body left a stale header. */
const responseHeaders = (fixture: RecordedFixture): Record<string, string> => {
  const headers = { ...fixture.response.headers };
  if (fixture.response.wire_body_base64 === undefined) delete headers['content-encoding'];
  return headers;
};

export const contextFor = (fixture: RecordedFixture, adapter: ProviderAdapter): CallContext => {
  // Recorded against local servers too (Ollama, vLLM over http with a port).
  const scheme = (fixture.request as { readonly scheme?: string }).scheme === 'http' ? 'http' : 'https';
  const origin = `${scheme}://${fixture.request.host}`;
  const upstreamUrl = new URL(`${origin}${fixture.request.path}`);
  const route: RouteConfig = { prefix: `/${adapter.id}`, provider: adapter.id, upstream: origin };
  return {
    route,
    target: { method: fixture.request.method, path: upstreamUrl.pathname, query: upstreamUrl.searchParams },
    upstreamUrl,
    requestHeaders: fixture.request.headers,
    start: 1_000,
  };
};

/** Replays `fixture`; returns the record plus every error the tap reported. */
export const replayFixture = async (
  fixture: RecordedFixture,
  adapter: ProviderAdapter,
  chunking: Chunking,
  options: ReplayOptions = {},
): Promise<ReplayResult> => {
  const calls: LlmCall[] = [];
  const errors: { stage: TelemetryStage; error: unknown }[] = [];
  const observer: CallObserver = {
    start: () => ({
      finish: (call) => {
        calls.push(call);
        return { calls: calls.length };
      },
    }),
  };
  const limits: Limits = { ...limitsSchema.parse({}), ...options.limits };
  const factory = createCaptureTapFactory({
    adapterFor: () => adapter,
    observer,
    limits,
    parseOptions: {
      captureContent: options.captureContent ?? false,
      maxCapturedChars: limits.maxCapturedChars,
    },
    onError: (stage, error) => errors.push({ stage, error }),
  });
  const tap = factory.open(contextFor(fixture, adapter));
  if (tap === undefined)
    throw new Error(`${fixture.file}: the adapter does not treat this request as an LLM call`);
  if (fixture.request.body !== null) {
    for (const chunk of splitBytes(Buffer.from(fixture.request.body, 'utf8'), chunking))
      tap.requestBody(chunk);
  }
  tap.requestEnd();
  tap.upstreamRequestSent(1_001);
  tap.responseHead(fixture.response.status, responseHeaders(fixture), 1_100);
  const body = wireBody(fixture);
  const cut = options.cutAfter;
  const sent = cut === undefined ? body : body.subarray(0, cut);
  // Each chunk gets its own timestamp so that `firstOutput` shows which chunk produced the first output.
  let at = 1_200;
  for (const chunk of splitBytes(sent, chunking)) {
    tap.responseBody(chunk, at);
    at += 1;
  }
  tap.clientFirstByte(1_150);
  const logFields = await tap.end({ at: 5_000, complete: cut === undefined, copyTruncated: false });
  const call = calls[0];
  if (calls.length !== 1 || call === undefined) {
    throw new Error(`${fixture.file}: the observer got ${calls.length} records, expected exactly 1`);
  }
  return { call, errors, logFields };
};

/**
 * Replays `fixture` and returns the `LlmCall`; throws when the tap reported any error, since recorded
 * exchanges must go through the pipeline cleanly.
 */
export const replayFixtureThroughTap = async (
  fixture: RecordedFixture,
  adapter: ProviderAdapter,
  chunking: Chunking,
  options: ReplayOptions = {},
): Promise<LlmCall> => {
  const { call, errors } = await replayFixture(fixture, adapter, chunking, options);
  const first = errors[0];
  if (first !== undefined) {
    const reason = first.error instanceof Error ? first.error.message : String(first.error);
    throw new Error(`${fixture.file}: capture tap reported a ${first.stage} error: ${reason}`, {
      cause: first.error,
    });
  }
  return call;
};
