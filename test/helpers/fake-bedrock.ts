/**
 * A loopback fake Bedrock runtime that checks SigV4 the way AWS does: it recomputes the signature with
 * `@smithy/signature-v4` for the credentials llmtap is supposed to use and answers 403 (AWS's own error shapes)
 * on any mismatch, a wrong key, a payload hash that does not match the body, or a clock more than 5 minutes off.
 * Signed requests are answered from the recorded Bedrock exchanges (test/fixtures/recorded/bedrock).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from './recorded.ts';
import { startUpstream, type Upstream } from './upstream.ts';

export interface FakeCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

const toBytes = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

class TestSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.#hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? data : toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {}
}

export interface Verdict {
  readonly ok: boolean;
  readonly reason: string;
  readonly accessKeyId?: string;
  readonly signedHeaders?: readonly string[];
  readonly payloadHash?: string;
}

const amzDate = (text: string): Date =>
  new Date(
    `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(9, 11)}:${text.slice(11, 13)}:${text.slice(13, 15)}Z`,
  );

/** Recomputes the request's signature for `accepted` credentials; `serverNow` is the fake's clock. */
export const verifySigV4 = async (
  raw: IncomingMessage,
  body: Buffer,
  accepted: readonly FakeCredentials[],
  region: string,
  serverNow: number,
): Promise<Verdict> => {
  const authorization = raw.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (match === null) return { ok: false, reason: 'missing or malformed authorization' };
  const [, keyId, , scopeRegion, service, signedList, signature] = match as unknown as string[];
  const credentials = accepted.find((c) => c.accessKeyId === keyId);
  if (credentials === undefined)
    return { ok: false, reason: 'UnrecognizedClientException', accessKeyId: keyId as string };
  if (scopeRegion !== region || service !== 'bedrock') return { ok: false, reason: 'wrong scope' };
  const dateHeader = raw.headers['x-amz-date'];
  if (typeof dateHeader !== 'string') return { ok: false, reason: 'no x-amz-date' };
  const signingDate = amzDate(dateHeader);
  if (Math.abs(signingDate.getTime() - serverNow) > 5 * 60_000) return { ok: false, reason: 'clock skew' };
  const payloadHash = raw.headers['x-amz-content-sha256'] as string | undefined;
  const actualHash = createHash('sha256').update(body).digest('hex');
  if (payloadHash !== undefined && payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== actualHash)
    return { ok: false, reason: 'payload hash mismatch' };
  if (
    credentials.sessionToken !== undefined &&
    raw.headers['x-amz-security-token'] !== credentials.sessionToken
  )
    return { ok: false, reason: 'missing session token' };
  const signedHeaders = (signedList as string).split(';');
  if (!signedHeaders.includes('host')) return { ok: false, reason: 'host not signed' };
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = raw.headers[name];
    if (value === undefined) return { ok: false, reason: `signed header ${name} missing` };
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  if (payloadHash === undefined) headers['x-amz-content-sha256'] = actualHash;
  const url = new URL(raw.url ?? '/', 'http://x');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  const signer = new SignatureV4({
    credentials:
      sessionToken === undefined
        ? { accessKeyId, secretAccessKey }
        : { accessKeyId, secretAccessKey, sessionToken },
    region,
    service: 'bedrock',
    sha256: TestSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: raw.method ?? 'GET',
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: url.pathname,
      query,
      headers,
    },
    { signingDate, signableHeaders: new Set(signedHeaders), unsignableHeaders: new Set() },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1];
  return {
    ok: expected === signature,
    reason: expected === signature ? 'ok' : 'SignatureDoesNotMatch',
    accessKeyId: keyId as string,
    signedHeaders,
    ...(payloadHash === undefined ? {} : { payloadHash }),
  };
};

export interface FakeBedrock extends Upstream {
  readonly verdicts: Verdict[];
  /** Credentials the fake accepts (llmtap's, not the app's). */
  accept(credentials: readonly FakeCredentials[]): void;
  /** Shifts the fake's clock (clock-skew tests). */
  setClockOffset(ms: number): void;
}

const recorded = (): Map<string, RecordedFixture> => {
  const byOperation = new Map<string, RecordedFixture>();
  for (const fixture of loadRecordedFixtures()) {
    if (fixture.file === 'bedrock/converse_nova.json') byOperation.set('converse', fixture);
    if (fixture.file === 'bedrock/converse_stream_claude.json') byOperation.set('converse-stream', fixture);
    if (fixture.file === 'bedrock/invoke_anthropic_claude3.json') byOperation.set('invoke', fixture);
  }
  return byOperation;
};

const awsError = (res: ServerResponse, status: number, type: string, message: string, now: number): void => {
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/`,
    'x-amzn-requestid': 'fake-request-id',
    date: new Date(now).toUTCString(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

export const startFakeBedrock = async (region: string): Promise<FakeBedrock> => {
  const fixtures = recorded();
  let accepted: readonly FakeCredentials[] = [];
  let clockOffset = 0;
  const verdicts: Verdict[] = [];
  const upstream = await startUpstream(async (req, res, raw) => {
    const serverNow = Date.now() + clockOffset;
    const verdict = await verifySigV4(raw, req.body, accepted, region, serverNow);
    verdicts.push(verdict);
    if (!verdict.ok) {
      if (verdict.reason === 'clock skew') {
        const date = raw.headers['x-amz-date'] as string;
        awsError(
          res,
          403,
          'InvalidSignatureException',
          `Signature expired: ${date} is now earlier than ${new Date(serverNow - 5 * 60_000).toISOString().replace(/[-:]|\.\d+/g, '')} (${new Date(serverNow).toISOString().replace(/[-:]|\.\d+/g, '')} - 5 min.)`,
          serverNow,
        );
      } else if (verdict.reason === 'UnrecognizedClientException') {
        awsError(
          res,
          403,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          serverNow,
        );
      } else {
        awsError(
          res,
          403,
          'InvalidSignatureException',
          `The request signature we calculated does not match the signature you provided. (${verdict.reason})`,
          serverNow,
        );
      }
      return;
    }
    const operation = /\/model\/[^/]+\/([a-z-]+)$/.exec(req.url.split('?')[0] ?? '')?.[1] ?? '';
    const fixture = fixtures.get(operation);
    if (fixture === undefined) {
      awsError(res, 404, 'UnknownOperationException', 'no such operation', serverNow);
      return;
    }
    res.writeHead(fixture.response.status, replayHeaders(fixture));
    const body = wireBody(fixture);
    for (let offset = 0; offset < body.length; offset += 211) {
      res.write(body.subarray(offset, offset + 211));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  return Object.assign(upstream, {
    verdicts,
    accept(credentials: readonly FakeCredentials[]) {
      accepted = credentials;
    },
    setClockOffset(ms: number) {
      clockOffset = ms;
    },
  });
};
