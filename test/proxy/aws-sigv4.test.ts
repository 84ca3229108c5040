/**
 * The SigV4 re-signer on its own: what it signs is accepted by a fake Bedrock that recomputes the signature with
 * @smithy/signature-v4; credentials are cached, refreshed before expiry, and their absence is a clear
 * LLMTAP_UPSTREAM_AUTH error within a bounded time.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsCredentials,
  CredentialCache,
  createAwsSigner,
  regionOfHost,
  signingRegion,
  usesBearerToken,
} from '../../src/proxy/aws-sigv4.ts';
import { createRouteSigners } from '../../src/proxy/route-signing.ts';
import { compileRoute } from '../../src/proxy/router.ts';
import { type FakeBedrock, startFakeBedrock } from '../helpers/fake-bedrock.ts';

const pod: AwsCredentials = {
  accessKeyId: 'AKIDPODPODPODPOD0001',
  secretAccessKey: 'pod-secret-never-logged',
};
const region = 'us-east-1';
let bedrock: FakeBedrock;

beforeAll(async () => {
  bedrock = await startFakeBedrock(region);
  bedrock.accept([pod]);
});
afterAll(async () => {
  await bedrock.close();
});

const appHeaders = [
  'Content-Type',
  'application/json',
  'Authorization',
  'AWS4-HMAC-SHA256 Credential=AKIDAPPAPPAPPAPP0001/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000',
  'X-Amz-Date',
  '20260101T000000Z',
  'X-Amz-Security-Token',
  'app-session-token',
  'amz-sdk-invocation-id',
  '1c9a7f3e-0000-4000-8000-000000000000',
  'traceparent',
  '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
];

const send = async (headers: string[], body: Buffer | undefined, path: string) => {
  const answer = await request(`${bedrock.url}${path}`, { method: 'POST', headers, body: body ?? null });
  return { status: answer.statusCode, text: await answer.body.text() };
};

describe('aws-sigv4 signer', () => {
  it('replaces the app signature with one the fake Bedrock accepts, for the real host and path', async () => {
    const signer = createAwsSigner({ region, service: 'bedrock', credentials: async () => pod });
    const body = Buffer.from('{"messages":[{"role":"user","content":[{"text":"hi"}]}]}');
    const path = '/model/amazon.nova-lite-v1%3A0/converse';
    const headers = await signer.sign({
      method: 'POST',
      origin: new URL(bedrock.url),
      path,
      search: '',
      headers: appHeaders,
      body,
    });
    const names = headers.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    expect(names.filter((name) => name === 'authorization')).toHaveLength(1);
    expect(headers).not.toContain('app-session-token');
    expect(headers).not.toContain('20260101T000000Z');
    expect(headers).toContain('1c9a7f3e-0000-4000-8000-000000000000');
    const answer = await send(headers, body, path);
    expect(bedrock.verdicts.at(-1)).toMatchObject({ ok: true, accessKeyId: pod.accessKeyId });
    expect(bedrock.verdicts.at(-1)?.signedHeaders).toEqual(
      expect.arrayContaining([
        'host',
        'x-amz-date',
        'x-amz-content-sha256',
        'content-type',
        'amz-sdk-invocation-id',
      ]),
    );
    expect(answer.status).toBe(200);
  });

  it('a tampered body fails the fake verification (the check is real)', async () => {
    const signer = createAwsSigner({ region, service: 'bedrock', credentials: async () => pod });
    const path = '/model/m/converse';
    const headers = await signer.sign({
      method: 'POST',
      origin: new URL(bedrock.url),
      path,
      search: '',
      headers: ['content-type', 'application/json'],
      body: Buffer.from('{"a":1}'),
    });
    const answer = await send(headers, Buffer.from('{"a":2}'), path);
    expect(answer.status).toBe(403);
    expect(bedrock.verdicts.at(-1)?.reason).toBe('payload hash mismatch');
  });

  it('a signature made with another secret fails the fake verification', async () => {
    const signer = createAwsSigner({
      region,
      service: 'bedrock',
      credentials: async () => ({ ...pod, secretAccessKey: 'not-the-pod-secret' }),
    });
    const path = '/model/m/converse';
    const body = Buffer.from('{}');
    const headers = await signer.sign({
      method: 'POST',
      origin: new URL(bedrock.url),
      path,
      search: '',
      headers: [],
      body,
    });
    expect((await send(headers, body, path)).status).toBe(403);
    expect(bedrock.verdicts.at(-1)?.reason).toBe('SignatureDoesNotMatch');
  });

  it('streams unbuffered bodies with UNSIGNED-PAYLOAD and adds the session token of temporary credentials', async () => {
    const temporary = { ...pod, accessKeyId: 'ASIATEMPTEMPTEMP0001', sessionToken: 'pod-session-token' };
    bedrock.accept([pod, temporary]);
    const signer = createAwsSigner({ region, service: 'bedrock', credentials: async () => temporary });
    const path = '/model/anthropic.claude-3-sonnet-20240229-v1%3A0/invoke';
    const headers = await signer.sign({
      method: 'POST',
      origin: new URL(bedrock.url),
      path,
      search: '',
      headers: ['content-type', 'application/json'],
      body: 'unsigned',
    });
    expect(headers).toContain('UNSIGNED-PAYLOAD');
    const answer = await send(headers, Buffer.alloc(300_000, 0x20), path);
    expect(bedrock.verdicts.at(-1)).toMatchObject({ ok: true, payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(answer.status).toBe(200);
  });

  it('bearer tokens (Bedrock API keys) are recognised and left alone', () => {
    expect(usesBearerToken('Bearer ABSKQmVkcm9ja0FQSUtleQ==')).toBe(true);
    expect(usesBearerToken('AWS4-HMAC-SHA256 Credential=x')).toBe(false);
    expect(usesBearerToken(undefined)).toBe(false);
  });

  it('a signing route whose region cannot be known is a start-up error; other routes get no signer', () => {
    const signing = compileRoute({
      prefix: '/bedrock',
      provider: 'bedrock',
      upstream: 'http://127.0.0.1:9',
      signing: 'aws-sigv4',
    });
    const plain = compileRoute({ prefix: '/openai', provider: 'openai', upstream: 'https://api.openai.com' });
    expect(() => createRouteSigners([signing], {}, 1000)).toThrow(/needs a region/);
    const signerFor = createRouteSigners([signing, plain], { AWS_REGION: 'eu-west-1' }, 1000);
    expect(signerFor({ route: signing, upstreamPath: '/', search: '' })?.region).toBe('eu-west-1');
    expect(signerFor({ route: plain, upstreamPath: '/', search: '' })).toBeUndefined();
  });

  it('region: route, then AWS_REGION, AWS_DEFAULT_REGION, then the upstream host', () => {
    const host = new URL('https://bedrock-runtime.eu-west-3.amazonaws.com');
    expect(signingRegion('us-west-2', host, { AWS_REGION: 'ap-south-1' })).toBe('us-west-2');
    expect(signingRegion(undefined, host, { AWS_REGION: 'ap-south-1' })).toBe('ap-south-1');
    expect(signingRegion(undefined, host, { AWS_DEFAULT_REGION: 'ca-central-1' })).toBe('ca-central-1');
    expect(signingRegion(undefined, host, {})).toBe('eu-west-3');
    expect(signingRegion(undefined, new URL('http://127.0.0.1:9'), {})).toBeUndefined();
    expect(regionOfHost('bedrock-runtime-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
  });
});

describe('credential cache', () => {
  const source = (answers: AwsCredentials[]) => {
    const calls: { forceRefresh?: boolean }[] = [];
    return {
      calls,
      load: async (options?: { forceRefresh?: boolean }) => {
        calls.push(options ?? {});
        const next = answers.shift();
        if (next === undefined) throw new Error('no more');
        return next;
      },
    };
  };

  it('reuses fresh credentials, refreshes in the background near expiry and in front of the call once expired', async () => {
    let clock = 1_000_000;
    const first = { ...pod, accessKeyId: 'ASIAFIRST', expiration: new Date(clock + 10 * 60_000) };
    const second = { ...pod, accessKeyId: 'ASIASECOND', expiration: new Date(clock + 20 * 60_000) };
    const third = { ...pod, accessKeyId: 'ASIATHIRD', expiration: new Date(clock + 90 * 60_000) };
    const { calls, load } = source([first, second, third]);
    const cache = new CredentialCache(load, 1_000, 5 * 60_000, () => clock);
    expect((await cache.get()).accessKeyId).toBe('ASIAFIRST');
    expect((await cache.get()).accessKeyId).toBe('ASIAFIRST');
    expect(calls).toHaveLength(1);
    clock += 6 * 60_000; // 4 minutes left: still used, refreshed behind the call
    expect((await cache.get()).accessKeyId).toBe('ASIAFIRST');
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual({ forceRefresh: true });
    await expect.poll(async () => (await cache.get()).accessKeyId).toBe('ASIASECOND');
    clock += 30 * 60_000; // expired: the call waits for new ones
    expect((await cache.get()).accessKeyId).toBe('ASIATHIRD');
    expect(calls).toHaveLength(3);
  });

  it('shares one lookup between concurrent calls', async () => {
    const { calls, load } = source([pod]);
    const cache = new CredentialCache(load, 1_000, 5 * 60_000, Date.now);
    const all = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(all.map((c) => c.accessKeyId)).toEqual([pod.accessKeyId, pod.accessKeyId, pod.accessKeyId]);
    expect(calls).toHaveLength(1);
  });

  it('no credentials: LLMTAP_UPSTREAM_AUTH naming what was tried, without any secret', async () => {
    const cache = new CredentialCache(
      async () => {
        throw new Error('Could not load credentials from any providers (key AKIAABCDEFGHIJKLMNOP)');
      },
      1_000,
      0,
      Date.now,
    );
    const error = await cache.get().then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe('LLMTAP_UPSTREAM_AUTH');
    expect(error?.message).toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
    expect(error?.message).toContain('IMDS');
    expect(error?.message).toContain('Could not load credentials from any providers');
    expect(error?.message).not.toContain('AKIAABCDEFGHIJKLMNOP');
  });

  it('a credential source that never answers fails within the bound instead of hanging', async () => {
    const cache = new CredentialCache(() => new Promise(() => {}), 50, 0, Date.now);
    // The source never answers: the rejection naming the 50 ms bound is the bound at work (no wall-time check).
    await expect(cache.get()).rejects.toMatchObject({
      code: 'LLMTAP_UPSTREAM_AUTH',
      message: expect.stringContaining('no answer within 50 ms'),
    });
  });
});
