import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { decide, type InjectionStatus, type InjectOptions, pointerToken } from '../../src/injector/mutate.ts';
import { type PodLike, podSchema } from '../../src/injector/pod.ts';
import { serviceNameOf } from '../../src/injector/service-name.ts';
import { graceFromDrain, loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { repoRoot } from '../deploy/kubectl.ts';
import { deploymentPod, type Json } from './fixtures.ts';

const template = loadTemplate(join(repoRoot, templateRelativePath));
const options: InjectOptions = {
  template,
  mode: 'native',
  proxyUrl: 'http://127.0.0.1:4545',
  excludedNamespaces: new Set(['kube-system']),
  version: '0.1.0',
};

type Container = { name: string; env?: Array<{ name: string; value?: string }>; [k: string]: unknown };
type Patched = {
  metadata: { annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: Array<Json & { name: string }>;
    terminationGracePeriodSeconds?: number;
  };
};

const inject = (pod: unknown, opts: InjectOptions = options) => {
  const decision = decide(podSchema.parse(pod), 'shop', opts);
  if (!decision.inject) return { decision, patched: undefined };
  const patched = jsonPatch.applyPatch(
    structuredClone(pod),
    decision.patch as jsonPatch.Operation[],
    true,
    false,
  ).newDocument as Patched;
  new Pod(patched as never).validate();
  return { decision, patched };
};
const envOf = (c: Container | undefined): Record<string, string | undefined> =>
  Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
const statusOf = (p: Patched | undefined): InjectionStatus =>
  JSON.parse(p?.metadata.annotations?.['llmtap.io/status'] ?? 'null') as InjectionStatus;

const bare = (): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'solo', namespace: 'shop' },
  spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] },
});

describe('service name (semconv order)', () => {
  const pod = (meta: Json, containers = [{ name: 'c' }]): PodLike =>
    podSchema.parse({ metadata: meta, spec: { containers } });
  it('prefers the annotation, then the name the app gives itself, over labels', () => {
    const app = [{ name: 'c', env: [{ name: 'OTEL_SERVICE_NAME', value: 'checkout-api' }] }];
    expect(serviceNameOf(pod({ labels: { 'app.kubernetes.io/name': 'nm' } }, app))).toBe('checkout-api');
    expect(
      serviceNameOf(pod({ annotations: { 'resource.opentelemetry.io/service.name': 'ann' } }, app)),
    ).toBe('ann');
    // A value from a ConfigMap or Secret is not known at admission.
    const fromRef = [{ name: 'c', env: [{ name: 'OTEL_SERVICE_NAME', valueFrom: { configMapKeyRef: {} } }] }];
    expect(serviceNameOf(pod({ labels: { 'app.kubernetes.io/name': 'nm' } }, fromRef))).toBe('nm');
    const dependent = [{ name: 'c', env: [{ name: 'OTEL_SERVICE_NAME', value: 'web-$(POD_NAME)' }] }];
    expect(serviceNameOf(pod({ labels: { 'app.kubernetes.io/name': 'nm' } }, dependent))).toBe('nm');
  });
  it.each([
    [
      {
        annotations: { 'resource.opentelemetry.io/service.name': 'ann' },
        labels: { 'app.kubernetes.io/instance': 'inst' },
      },
      'ann',
    ],
    [{ labels: { 'app.kubernetes.io/instance': 'inst', 'app.kubernetes.io/name': 'nm' } }, 'inst'],
    [
      {
        labels: { 'app.kubernetes.io/name': 'nm' },
        ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }],
      },
      'nm',
    ],
    [
      {
        labels: { 'pod-template-hash': '5f7c9' },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'web-api-5f7c9', controller: true }],
      },
      'web-api',
    ],
    [{ ownerReferences: [{ kind: 'ReplicaSet', name: 'bare-rs', controller: true }] }, 'bare-rs'],
    [{ ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] }, 'db'],
    [{ ownerReferences: [{ kind: 'DaemonSet', name: 'agent', controller: true }] }, 'agent'],
    [{ ownerReferences: [{ kind: 'Job', name: 'nightly-28817280', controller: true }] }, 'nightly-28817280'],
    [{ name: 'solo-pod' }, 'solo-pod'],
    [{ generateName: 'x-' }, 'c'],
    [{ labels: { 'app.kubernetes.io/name': '  ' }, name: 'p' }, 'p'],
  ])('%j → %s', (meta, expected) => {
    expect(serviceNameOf(pod(meta))).toBe(expected);
  });
});

describe('decide()', () => {
  it('adds whole arrays and the annotations object when the pod has none', () => {
    const { patched } = inject(bare());
    expect(patched?.spec.initContainers?.map((c) => c.name)).toEqual(['llmtap']);
    expect(patched?.spec.volumes?.map((v) => v.name)).toEqual(['llmtap-podinfo']);
    expect(envOf(patched?.spec.containers[0]).OPENAI_BASE_URL).toBe('http://127.0.0.1:4545/openai/v1');
    expect(envOf(patched?.spec.initContainers?.[0]).OTEL_SERVICE_NAME).toBe('solo');
    // The default 30 s already covers llmtap (drain 20 s + 10 s), so the pod's period is left alone.
    expect(template.terminationGracePeriodSeconds).toBe(30);
    expect(patched?.spec.terminationGracePeriodSeconds).toBeUndefined();
  });

  it.each([
    ['20s', 30],
    ['45s', 55],
    ['2m', 130],
    ['500ms', 30],
    [undefined, 45],
    ['soon', 45],
  ])('the grace period llmtap needs for LLMTAP_DRAIN_TIMEOUT=%s is %i s', (drain, grace) => {
    expect(graceFromDrain(drain)).toBe(grace);
  });

  it('raises a grace period shorter than llmtap needs (drain + 10 s), and only then', () => {
    const pod = bare() as { spec: Json };
    pod.spec.terminationGracePeriodSeconds = 10;
    expect(inject(pod).patched?.spec.terminationGracePeriodSeconds).toBe(30);
  });

  it('puts native llmtap first among existing init containers and keeps a longer grace period', () => {
    const pod = bare() as { spec: Json };
    pod.spec.initContainers = [{ name: 'migrate', image: 'busybox:1.37' }];
    pod.spec.terminationGracePeriodSeconds = 300;
    const { patched } = inject(pod);
    expect(patched?.spec.initContainers?.map((c) => c.name)).toEqual(['llmtap', 'migrate']);
    expect(patched?.spec.terminationGracePeriodSeconds).toBe(300);
  });

  it('escapes annotation keys as JSON pointers and keeps existing annotations', () => {
    expect(pointerToken('llmtap.io/status')).toBe('llmtap.io~1status');
    expect(pointerToken('a~b/c')).toBe('a~0b~1c');
    const { decision, patched } = inject(
      deploymentPod({ annotations: { 'team.example/owner': 'payments' } }),
    );
    expect(
      decision.inject && decision.patch.some((op) => op.path === '/metadata/annotations/llmtap.io~1status'),
    ).toBe(true);
    expect(patched?.metadata.annotations?.['team.example/owner']).toBe('payments');
    expect(statusOf(patched).version).toBe('0.1.0');
  });

  it('mounts the ConfigMap named in llmtap.io/config, and ignores a name that is not one', () => {
    const { patched } = inject(deploymentPod({ annotations: { 'llmtap.io/config': 'llmtap-routes' } }));
    const sidecar = patched?.spec.initContainers?.[0];
    expect(envOf(sidecar).LLMTAP_CONFIG).toBe('/etc/llmtap/config.yaml');
    expect(patched?.spec.volumes?.find((v) => v.name === 'llmtap-config')).toEqual({
      name: 'llmtap-config',
      configMap: { name: 'llmtap-routes' },
    });
    const bad = inject(deploymentPod({ annotations: { 'llmtap.io/config': '../etc/passwd' } })).patched;
    expect(envOf(bad?.spec.initContainers?.[0]).LLMTAP_CONFIG).toBeUndefined();
    expect(bad?.spec.volumes?.some((v) => v.name === 'llmtap-config')).toBe(false);
    expect(statusOf(bad).notes.join()).toMatch(/llmtap.io\/config/);
  });

  it('sets only the providers listed in llmtap.io/providers', () => {
    const only = inject(
      deploymentPod({ annotations: { 'llmtap.io/providers': 'anthropic, bogus' } }),
    ).patched;
    const env = envOf(only?.spec.containers[0]);
    expect(env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:4545/anthropic');
    expect(env.OPENAI_BASE_URL).toBeUndefined();
    expect(statusOf(only).notes.join()).toMatch(/bogus/);
    const none = inject(deploymentPod({ annotations: { 'llmtap.io/providers': 'none' } })).patched;
    expect(none?.spec.containers[0]?.env).toHaveLength(2);
    const azure = inject(deploymentPod({ annotations: { 'llmtap.io/providers': 'azure' } })).patched;
    expect(envOf(azure?.spec.containers[0]).AZURE_OPENAI_ENDPOINT).toBe('http://127.0.0.1:4545/azure');
    const bedrock = inject(
      deploymentPod({ annotations: { 'llmtap.io/providers': 'bedrock,openai' } }),
    ).patched;
    const bedrockEnv = envOf(bedrock?.spec.containers[0]);
    expect(bedrockEnv.AWS_ENDPOINT_URL_BEDROCK_RUNTIME).toBe('http://127.0.0.1:4545/bedrock');
    expect(bedrockEnv.OPENAI_BASE_URL).toBe('http://127.0.0.1:4545/openai/v1');
  });

  it('does not point an Azure OpenAI container at the OpenAI route', () => {
    const pod = deploymentPod();
    pod.spec.containers[0]?.env?.push({
      name: 'AZURE_OPENAI_API_KEY',
      valueFrom: { secretKeyRef: { name: 'k', key: 'k' } },
    });
    const { patched } = inject(pod);
    expect(envOf(patched?.spec.containers[0]).OPENAI_BASE_URL).toBeUndefined();
    expect(statusOf(patched).env.checkout?.kept).toContain('OPENAI_BASE_URL');
  });

  it('leaves containers with envFrom alone (env would override what the ConfigMap/Secret says)', () => {
    const pod = deploymentPod();
    (pod.spec.containers[0] as Json).envFrom = [{ configMapRef: { name: 'llm-settings' } }];
    const { patched } = inject(pod);
    expect(patched?.spec.containers[0]?.env).toEqual(pod.spec.containers[0]?.env);
    expect(statusOf(patched).env.checkout?.skipped).toBe('envFrom');
    expect(envOf(patched?.spec.containers[1]).OPENAI_BASE_URL).toBeDefined();
  });

  it('applies valid resource annotations and ignores invalid ones', () => {
    const { patched } = inject(
      deploymentPod({ annotations: { 'llmtap.io/memory-limit': '512Mi', 'llmtap.io/cpu-request': 'lots' } }),
    );
    const resources = patched?.spec.initContainers?.[0]?.resources as { requests: Json; limits: Json };
    expect(resources.limits.memory).toBe('512Mi');
    // The invalid cpu-request left the template's value in place.
    expect(resources.requests.cpu).toBe(
      (template.container as unknown as { resources: { requests: Json } }).resources.requests.cpu,
    );
    expect(statusOf(patched).notes.join()).toMatch(/cpu-request/);
  });

  it.each([
    [
      'hostNetwork pods',
      (p: { spec: Json }) => {
        p.spec.hostNetwork = true;
      },
      'host-network',
      options,
    ],
    [
      'Windows pods',
      (p: { spec: Json }) => {
        p.spec.os = { name: 'windows' };
      },
      'windows-pod',
      options,
    ],
    [
      'an app that already uses the data port',
      (p: { spec: { containers: Json[] } }) => {
        p.spec.containers[1] = { name: 'other', image: 'x:1', ports: [{ containerPort: 4545 }] };
      },
      'port-conflict',
      options,
    ],
    [
      'an app that already uses the admin port',
      (p: { spec: { containers: Json[] } }) => {
        p.spec.containers[1] = { name: 'other', image: 'x:1', ports: [{ containerPort: 4546 }] };
      },
      'port-conflict',
      options,
    ],
    [
      'a volume name clash',
      (p: { spec: Json }) => {
        p.spec.volumes = [{ name: 'llmtap-podinfo', emptyDir: {} }];
      },
      'name-conflict',
      options,
    ],
    [
      'classic mode in a Job pod',
      (p: { spec: Json }) => {
        p.spec.restartPolicy = 'Never';
      },
      'classic-sidecar-in-job',
      { ...options, mode: 'classic' as const },
    ],
    [
      'a classic llmtap container',
      (p: { spec: { containers: Json[] } }) => void p.spec.containers.push({ name: 'llmtap' }),
      'already-injected',
      options,
    ],
  ])('skips %s', (_name, change, reason, opts) => {
    const pod = deploymentPod();
    change(pod as never);
    expect(decide(podSchema.parse(pod), 'shop', opts)).toEqual({ inject: false, reason });
  });

  it('classic mode: llmtap first in containers, app env patched at the right indices, logs default to the app', () => {
    const { patched } = inject(deploymentPod(), { ...options, mode: 'classic' });
    expect(patched?.spec.containers.map((c) => c.name)).toEqual(['llmtap', 'checkout', 'metrics-agent']);
    expect(patched?.spec.containers[0]?.restartPolicy).toBeUndefined();
    expect(envOf(patched?.spec.containers[1]).OPENAI_BASE_URL).toBeDefined();
    expect(envOf(patched?.spec.containers[2]).OPENAI_BASE_URL).toBeDefined();
    expect(envOf(patched?.spec.containers[0]).OPENAI_BASE_URL).toBeUndefined();
    expect(patched?.metadata.annotations?.['kubectl.kubernetes.io/default-container']).toBe('checkout');
  });

  it('overrides the image when asked', () => {
    const { patched } = inject(bare(), { ...options, image: 'registry.internal/llmtap:0.1.0' });
    expect(patched?.spec.initContainers?.[0]?.image).toBe('registry.internal/llmtap:0.1.0');
  });
});
