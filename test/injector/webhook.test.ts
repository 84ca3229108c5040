import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleReview } from '../../src/injector/handler.ts';
import { annotationStatus, type InjectionStatus, type InjectOptions } from '../../src/injector/mutate.ts';
import { type InjectorServer, startInjectorServer } from '../../src/injector/server.ts';
import { loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { createLogger } from '../../src/log.ts';
import { repoRoot } from '../deploy/kubectl.ts';
import { unknownFields } from '../deploy/strict-fields.ts';
import { call } from './client.ts';
import { deploymentPod, type Json, review } from './fixtures.ts';
import { makeTestCa, type TestCa } from './tls.ts';

type Container = {
  name: string;
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  restartPolicy?: string;
};
type PodShape = {
  metadata: { annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: Array<{ name: string }>;
    terminationGracePeriodSeconds?: number;
  };
};

const options: InjectOptions = {
  template: loadTemplate(join(repoRoot, templateRelativePath)),
  mode: 'native',
  proxyUrl: 'http://127.0.0.1:4545',
  excludedNamespaces: new Set(['kube-system', 'llmtap-system']),
  version: '0.1.0',
};

let ca: TestCa;
let server: InjectorServer;
const logLines: Json[] = [];

beforeAll(async () => {
  ca = makeTestCa();
  const pair = ca.issue('serving');
  server = await startInjectorServer({
    host: '127.0.0.1',
    port: 0,
    certFile: pair.certFile,
    keyFile: pair.keyFile,
    reloadIntervalMs: 0,
    maxBodyBytes: 1024 * 1024,
    review: (body) => handleReview(body, options),
    logger: createLogger('debug', { write: (line: string) => logLines.push(JSON.parse(line) as Json) }),
  });
});
afterAll(async () => {
  await server?.close(1000);
});

interface Answer {
  status: number;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string };
  apiVersion: string;
  kind: string;
  patch: jsonPatch.Operation[] | undefined;
}

const send = async (body: unknown): Promise<Answer> => {
  const reply = await call(server.address.port, ca.caCert, {
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const parsed = JSON.parse(reply.text) as Omit<Answer, 'status' | 'patch'>;
  const patch =
    parsed.response.patch === undefined
      ? undefined
      : (JSON.parse(Buffer.from(parsed.response.patch, 'base64').toString('utf8')) as jsonPatch.Operation[]);
  return { ...parsed, status: reply.status, patch };
};

/** Applies the patch strictly (RFC 6902 validation on) and checks the result against the Pod schema. */
const applyAndValidate = (pod: unknown, patch: jsonPatch.Operation[]): PodShape => {
  const patched = jsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument as PodShape;
  new Pod(patched as never).validate();
  expect(unknownFields(patched as never)).toEqual([]);
  return patched;
};

const statusOf = (pod: PodShape): InjectionStatus =>
  JSON.parse(pod.metadata.annotations?.[annotationStatus] ?? '{}') as InjectionStatus;
const envOf = (c: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));

describe('injector webhook over HTTPS (test CA, loopback)', () => {
  it('injects a Deployment-made pod that has only generateName, and a second review is a no-op', async () => {
    const pod = deploymentPod();
    const first = await send(review(pod));
    expect(first.status).toBe(200);
    expect(first.apiVersion).toBe('admission.k8s.io/v1');
    expect(first.kind).toBe('AdmissionReview');
    expect(first.response.allowed).toBe(true);
    expect(first.response.patchType).toBe('JSONPatch');
    const patched = applyAndValidate(pod, first.patch ?? []);

    const sidecar = patched.spec.initContainers?.[0];
    expect(sidecar?.name).toBe('llmtap');
    expect(sidecar?.restartPolicy).toBe('Always');
    // Deployment name = ReplicaSet owner minus -<pod-template-hash>.
    expect(envOf(sidecar).OTEL_SERVICE_NAME).toBe('checkout');
    // No llmtap.io/config annotation: built-in routes, no config file to miss.
    expect(envOf(sidecar).LLMTAP_CONFIG).toBeUndefined();
    expect(patched.spec.volumes?.map((v) => v.name)).toEqual(['kube-api-access-x7k2p', 'llmtap-podinfo']);
    expect(patched.spec.terminationGracePeriodSeconds).toBe(options.template.terminationGracePeriodSeconds);
    for (const container of patched.spec.containers) {
      expect(envOf(container)).toMatchObject({
        OPENAI_BASE_URL: 'http://127.0.0.1:4545/openai/v1',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:4545/anthropic',
        GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:4545/gemini',
      });
    }
    // The app's own env is untouched and first.
    expect(patched.spec.containers[0]?.env?.slice(0, 2)).toEqual(pod.spec.containers[0]?.env);
    expect(statusOf(patched)).toMatchObject({
      mode: 'native',
      serviceName: 'checkout',
      config: null,
      env: {
        checkout: { set: ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'GOOGLE_GEMINI_BASE_URL'], kept: [] },
      },
    });

    const second = await send(review(patched));
    expect(second.response.allowed).toBe(true);
    expect(second.response.patch).toBeUndefined();
    expect(second.response.patchType).toBeUndefined();
  });

  it('never overwrites env vars the container already sets', async () => {
    const pod = deploymentPod();
    pod.spec.containers[0]?.env?.push({ name: 'OPENAI_BASE_URL', value: 'https://my-gateway.internal/v1' }, {
      name: 'ANTHROPIC_BASE_URL',
      valueFrom: { configMapKeyRef: { name: 'llm', key: 'anthropic' } },
    } as never);
    const answer = await send(review(pod));
    const patched = applyAndValidate(pod, answer.patch ?? []);
    const app = patched.spec.containers[0];
    expect(app?.env?.filter((e) => e.name === 'OPENAI_BASE_URL')).toEqual([
      { name: 'OPENAI_BASE_URL', value: 'https://my-gateway.internal/v1' },
    ]);
    expect(app?.env?.filter((e) => e.name === 'ANTHROPIC_BASE_URL')).toHaveLength(1);
    expect(app?.env?.find((e) => e.name === 'ANTHROPIC_BASE_URL')?.valueFrom).toBeDefined();
    expect(envOf(app).GOOGLE_GEMINI_BASE_URL).toBe('http://127.0.0.1:4545/gemini');
    expect(statusOf(patched).env.checkout).toEqual({
      set: ['GOOGLE_GEMINI_BASE_URL'],
      kept: ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL'],
    });
    // Every op only adds: nothing the app set is replaced or removed.
    for (const op of answer.patch ?? []) expect(op.op).toBe('add');
    for (const op of answer.patch ?? []) expect(op.path).not.toMatch(/^\/spec\/containers\/\d+\/env\/\d+$/);
  });

  it('leaves a pod that already has llmtap alone', async () => {
    const pod = deploymentPod();
    (pod.spec as Json).initContainers = [
      { name: 'llmtap', image: 'ghcr.io/llmtap/llmtap:0.0.9', restartPolicy: 'Always' },
    ];
    const answer = await send(review(pod));
    expect(answer.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('leaves excluded namespaces and opted-out pods alone', async () => {
    const inKubeSystem = await send(review(deploymentPod(), { namespace: 'kube-system' }));
    expect(inKubeSystem.patch).toBeUndefined();
    const own = await send(review(deploymentPod(), { namespace: 'llmtap-system' }));
    expect(own.patch).toBeUndefined();
    const optedOut = await send(review(deploymentPod({ labels: { 'llmtap.io/inject': 'disabled' } })));
    expect(optedOut.patch).toBeUndefined();
    const reasons = logLines.slice(-3).map((l) => l.reason);
    expect(reasons).toEqual(['excluded-namespace', 'excluded-namespace', 'opted-out']);
  });

  it('echoes the request uid', async () => {
    const r = review(deploymentPod());
    const answer = await send(r);
    expect(answer.response.uid).toBe(r.request.uid);
  });

  it.each([
    [
      'wrong kind',
      () =>
        JSON.stringify(
          review({ apiVersion: 'apps/v1', kind: 'Deployment' }, { kind: 'Deployment', group: 'apps' }),
        ),
      'not-a-pod-create',
    ],
    ['bad JSON', () => '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionRev', 'invalid-json'],
    [
      'not an AdmissionReview',
      () => JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }),
      'not-an-admission-review',
    ],
    [
      'a pod without containers',
      () => JSON.stringify(review({ metadata: {}, spec: { containers: [] } })),
      'invalid-pod',
    ],
    ['an UPDATE', () => JSON.stringify(review(deploymentPod(), { operation: 'UPDATE' })), 'not-a-pod-create'],
    ['a huge body', () => Buffer.alloc(3 * 1024 * 1024, 0x20), 'body-too-large'],
  ])('answers %s with allowed: true, no patch, and a log line', async (_name, body, reason) => {
    const before = logLines.length;
    const answer = await send(body());
    expect(answer.status).toBe(200);
    expect(answer.apiVersion).toBe('admission.k8s.io/v1');
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.patch).toBeUndefined();
    expect(typeof answer.response.uid).toBe('string');
    expect(logLines.slice(before).map((l) => l.reason)).toEqual([reason]);
  });

  it('serves /healthz and reloads a rotated certificate without restarting', async () => {
    const health = await call(server.address.port, ca.caCert, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    const before = health.peer.serialNumber;
    expect(await server.reloadTls()).toBe(false);
    const rotated = ca.issue('serving');
    expect(rotated.certFile).toContain('serving.crt');
    expect(await server.reloadTls()).toBe(true);
    const after = await call(server.address.port, ca.caCert, { method: 'GET', path: '/healthz' });
    expect(after.status).toBe(200);
    expect(after.peer.serialNumber).not.toBe(before);
  });

  it('keeps serving the current certificate when the rotated files are unusable', async () => {
    const current = (await call(server.address.port, ca.caCert, { method: 'GET', path: '/healthz' })).peer
      .serialNumber;
    // A half-written rotation: the certificate file holds a different key's certificate.
    const other = ca.issue('other');
    copyFileSync(other.certFile, join(ca.dir, 'serving.crt'));
    await expect(server.reloadTls()).rejects.toThrow();
    const still = await call(server.address.port, ca.caCert, { method: 'GET', path: '/healthz' });
    expect(still.status).toBe(200);
    expect(still.peer.serialNumber).toBe(current);
  });
});
