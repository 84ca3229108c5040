/**
 * Bedrock through llmtap with the real AWS SDK (`@aws-sdk/client-bedrock-runtime`): Converse, ConverseStream and
 * InvokeModel, with its default HTTP/2 handler (h2c to the loopback endpoint) and with NodeHttpHandler (HTTP/1.1).
 * The app signs with its own static test keys for llmtap's host; llmtap re-signs with *different* credentials from
 * the AWS provider chain in its environment; the loopback fake Bedrock recomputes SigV4 for llmtap's credentials
 * and answers 403 on any mismatch. Also: temporary credentials from a container-credentials endpoint (EKS Pod
 * Identity's mechanism) refreshed before they expire, a streamed upload (UNSIGNED-PAYLOAD), bearer API keys left
 * alone, no credentials at all (502 LLMTAP_UPSTREAM_AUTH, no hang), and AWS's clock-skew answer.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeBedrock, startFakeBedrock } from '../helpers/fake-bedrock.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

const region = 'us-east-1';
const app = { accessKeyId: 'AKIDAPPAPPAPPAPP0001', secretAccessKey: 'app-secret-APPCANARY' };
const pod = { accessKeyId: 'AKIDPODPODPODPOD0001', secretAccessKey: 'pod-secret-PODCANARY' };

const cleanups: (() => Promise<void> | void)[] = [];
let bedrock: FakeBedrock;

beforeEach(async () => {
  bedrock = await startFakeBedrock(region);
  bedrock.accept([pod]);
  cleanups.push(() => bedrock.close());
  // Nothing of this machine's own AWS setup may leak into llmtap's provider chain.
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/llmtap-test/credentials');
  vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/llmtap-test/config');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  for (const name of [
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  ])
    vi.stubEnv(name, undefined);
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  vi.unstubAllEnvs();
});

/** llmtap's own credentials: the standard env variables its provider chain reads first. */
const podEnv = (): void => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', pod.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', pod.secretAccessKey);
};

const startProduct = async (
  limits: Record<string, number> = {},
): Promise<{ llmtap: TestLlmtap; receiver: OtlpReceiver }> => {
  const receiver = await startOtlpReceiver();
  const llmtap = await startFullLlmtap(
    {
      routes: [
        { prefix: '/bedrock', provider: 'bedrock', upstream: bedrock.url, signing: 'aws-sigv4', region },
      ],
      limits,
    },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
  );
  cleanups.push(async () => {
    await llmtap.shutdown();
    await receiver.close();
  });
  return { llmtap, receiver };
};

const client = (llmtap: TestLlmtap, http1: boolean): BedrockRuntimeClient => {
  const sdk = new BedrockRuntimeClient({
    region,
    endpoint: `${llmtap.server.dataUrl}/bedrock`,
    credentials: app,
    maxAttempts: 1,
    ...(http1 ? { requestHandler: new NodeHttpHandler() } : {}),
  });
  cleanups.push(() => sdk.destroy());
  return sdk;
};

const converse = (sdk: BedrockRuntimeClient) =>
  sdk.send(
    new ConverseCommand({
      modelId: 'amazon.nova-lite-v1:0',
      messages: [{ role: 'user', content: [{ text: 'What is the capital of Japan?' }] }],
    }),
  );

describe('the AWS SDK through llmtap, re-signed with the pod identity', () => {
  for (const http1 of [false, true]) {
    const handler = http1 ? 'NodeHttpHandler (HTTP/1.1)' : 'the default HTTP/2 handler (h2c)';
    it(`Converse, ConverseStream and InvokeModel with ${handler}`, async () => {
      podEnv();
      const { llmtap, receiver } = await startProduct();
      const sdk = client(llmtap, http1);

      const answer = await converse(sdk);
      expect(answer.usage).toMatchObject({ inputTokens: 54, outputTokens: 18 });
      expect(answer.stopReason).toBe('guardrail_intervened');

      const stream = await sdk.send(
        new ConverseStreamCommand({
          modelId: 'us.amazon.nova-micro-v1:0',
          messages: [{ role: 'user', content: [{ text: 'What is the capital of France?' }] }],
        }),
      );
      let text = '';
      let usage: unknown;
      for await (const event of stream.stream ?? []) {
        text += event.contentBlockDelta?.delta?.text ?? '';
        usage ??= event.metadata?.usage;
      }
      expect(text).toContain('Paris');
      expect(usage).toBeDefined();

      const invoked = await sdk.send(
        new InvokeModelCommand({
          modelId: 'anthropic.claude-3-sonnet-20240229-v1:0',
          contentType: 'application/json',
          body: JSON.stringify({
            anthropic_version: 'bedrock-2023-05-31',
            max_tokens: 100,
            messages: [{ role: 'user', content: 'Tell me a joke about distributed tracing.' }],
          }),
        }),
      );
      expect(JSON.parse(Buffer.from(invoked.body).toString()).usage.output_tokens).toBe(19);

      // Every request the fake got was signed with llmtap's key, never the app's, and checked out.
      expect(bedrock.verdicts).toHaveLength(3);
      for (const verdict of bedrock.verdicts)
        expect(verdict).toMatchObject({ ok: true, accessKeyId: pod.accessKeyId });
      expect(bedrock.received.map((r) => r.url)).toEqual([
        '/model/amazon.nova-lite-v1%3A0/converse',
        '/model/us.amazon.nova-micro-v1%3A0/converse-stream',
        '/model/anthropic.claude-3-sonnet-20240229-v1%3A0/invoke',
      ]);
      // The request body reached Bedrock exactly as the app sent it (its hash is what was signed).
      expect(bedrock.verdicts.every((v) => v.payloadHash !== 'UNSIGNED-PAYLOAD')).toBe(true);

      await receiver.waitFor(() => receiver.spans.length === 3, 5000, 'three spans');
      const converseSpan = receiver.spans.find((s) => s.name === 'chat amazon.nova-lite-v1:0');
      expect(converseSpan?.attributes).toMatchObject({
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.usage.input_tokens': 54,
        'gen_ai.usage.output_tokens': 18,
      });
      expect(receiver.spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 200, 200]);
      // No secret of either side in the telemetry or the logs.
      const exported = receiver.allBytes().toString('latin1');
      for (const secret of ['APPCANARY', 'PODCANARY']) {
        expect(exported).not.toContain(secret);
        expect(llmtap.logs.join('\n')).not.toContain(secret);
      }
    });
  }

  it('temporary credentials from a container-credentials endpoint are refreshed before they expire', async () => {
    const rotations = [
      { ...pod, accessKeyId: 'ASIAPODFIRST00000001', sessionToken: 'token-first' },
      { ...pod, accessKeyId: 'ASIAPODSECOND0000001', sessionToken: 'token-second' },
    ];
    bedrock.accept(rotations);
    let served = 0;
    const endpoint = createServer((_req, res) => {
      const creds = rotations[Math.min(served, rotations.length - 1)] as (typeof rotations)[number];
      served += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          AccessKeyId: creds.accessKeyId,
          SecretAccessKey: creds.secretAccessKey,
          Token: creds.sessionToken,
          // Inside the 5-minute refresh window from the start: used, and replaced behind the calls.
          Expiration: new Date(Date.now() + 2 * 60_000).toISOString(),
        }),
      );
    });
    endpoint.listen(0, '127.0.0.1');
    await once(endpoint, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => endpoint.close(() => resolve())));
    vi.stubEnv(
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/v1/credentials`,
    );
    const { llmtap } = await startProduct();
    const sdk = client(llmtap, true);
    await converse(sdk);
    expect(bedrock.verdicts.at(-1)).toMatchObject({ ok: true, accessKeyId: 'ASIAPODFIRST00000001' });
    // The first call's credentials expire soon: the next call still uses them and starts a refresh.
    await converse(sdk);
    await expect
      .poll(async () => {
        await converse(sdk);
        return bedrock.verdicts.at(-1)?.accessKeyId;
      })
      .toBe('ASIAPODSECOND0000001');
    expect(bedrock.verdicts.every((v) => v.ok)).toBe(true);
    expect(served).toBeGreaterThanOrEqual(2);
  });

  /** An InvokeModel call whose body is mostly `prompt` (its size decides how llmtap signs it). */
  const invokeWithPrompt = (sdk: BedrockRuntimeClient, prompt: string) =>
    sdk.send(
      new InvokeModelCommand({
        modelId: 'anthropic.claude-3-sonnet-20240229-v1:0',
        contentType: 'application/json',
        body: JSON.stringify({
          anthropic_version: 'bedrock-2023-05-31',
          max_tokens: 10,
          messages: [{ role: 'user', content: prompt }],
        }),
      }),
    );

  it('a body past the read-ahead is still signed with its SHA-256 (only S3 accepts UNSIGNED-PAYLOAD)', async () => {
    podEnv();
    const { llmtap } = await startProduct();
    const prompt = 'y'.repeat(400_000);
    await invokeWithPrompt(client(llmtap, true), prompt);
    const verdict = bedrock.verdicts.at(-1);
    expect(verdict).toMatchObject({ ok: true });
    expect(verdict?.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect(bedrock.received.at(-1)?.body.toString()).toContain(prompt);
  });

  it('a body streamed past the signing cap is signed UNSIGNED-PAYLOAD and arrives whole', async () => {
    podEnv();
    const { llmtap } = await startProduct({ maxSignedBodyBytes: 65_536 });
    const prompt = 'x'.repeat(400_000);
    await invokeWithPrompt(client(llmtap, true), prompt);
    expect(bedrock.verdicts.at(-1)).toMatchObject({ ok: true, payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(bedrock.received.at(-1)?.body.toString()).toContain(prompt);
  });

  it('a Bedrock API key (bearer token) passes untouched, unsigned', async () => {
    podEnv();
    const { llmtap } = await startProduct();
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
    const answer = await fetch(`${llmtap.server.dataUrl}/bedrock/model/amazon.nova-lite-v1%3A0/converse`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer ABSKQmVkcm9ja0FQSUtleS1CRUFSRVJDQU5BUlk=',
        'content-type': 'application/json',
      },
      body,
    });
    await answer.arrayBuffer();
    const seen = bedrock.received.at(-1);
    expect(seen?.headers.authorization).toBe('Bearer ABSKQmVkcm9ja0FQSUtleS1CRUFSRVJDQU5BUlk=');
    expect(seen?.headers['x-amz-date']).toBeUndefined();
    expect(seen?.body.toString()).toBe(body);
  });

  it('no credentials anywhere: 502 LLMTAP_UPSTREAM_AUTH naming what was tried, quickly, nothing sent upstream', async () => {
    const { llmtap, receiver } = await startProduct();
    const failure = await converse(client(llmtap, false)).then(
      () => undefined,
      (error: unknown) => error as { $metadata?: { httpStatusCode?: number }; message: string },
    );
    expect(failure?.$metadata?.httpStatusCode).toBe(502);
    const raw = await fetch(`${llmtap.server.dataUrl}/bedrock/model/m/converse`, {
      method: 'POST',
      body: '{}',
    });
    expect(raw.status).toBe(502);
    const error = ((await raw.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('LLMTAP_UPSTREAM_AUTH');
    expect(error.message).toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
    expect(error.message).toContain('EKS Pod Identity');
    expect(bedrock.received).toHaveLength(0);
    // Each refused call is still a span, with llmtap's code as error.type and no upstream status.
    await receiver.waitFor(() => receiver.spans.length === 2, 5000, 'two spans');
    for (const span of receiver.spans) {
      expect(span.attributes['error.type']).toBe('LLMTAP_UPSTREAM_AUTH');
      expect(span.attributes).not.toHaveProperty('http.response.status_code');
    }
  });

  it("AWS's clock-skew answer reaches the app as sent, and llmtap signs by Bedrock's clock from then on", async () => {
    podEnv();
    bedrock.setClockOffset(20 * 60_000);
    const { llmtap } = await startProduct();
    const raw = await fetch(`${llmtap.server.dataUrl}/bedrock/model/m/converse`, {
      method: 'POST',
      body: '{}',
    });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException/);
    expect(((await raw.json()) as { message: string }).message).toMatch(/^Signature expired: /);
    expect(bedrock.verdicts.at(-1)?.reason).toBe('clock skew');
    // The rejection's Date taught llmtap the offset (as the AWS SDKs learn it): the next call is accepted.
    const answer = await converse(client(llmtap, false));
    expect(answer.usage?.inputTokens).toBe(54);
    expect(bedrock.verdicts.at(-1)).toMatchObject({ ok: true, accessKeyId: pod.accessKeyId });
  });
});
