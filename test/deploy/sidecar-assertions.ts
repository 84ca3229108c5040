/**
 * Structural checks of the llmtap sidecar in a rendered pod template. Kept apart from the tests so that
 * the tests can also prove each check fails on a broken manifest.
 */
import { expect } from 'vitest';

export type Json = Record<string, unknown>;
export interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: Json }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Json;
  readinessProbe?: Json;
  livenessProbe?: Json;
  securityContext?: Json;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  lifecycle?: Json;
}
export interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<Json & { name: string }>;
  terminationGracePeriodSeconds?: number;
}

export const downwardEnv: Readonly<Record<string, string>> = {
  K8S_POD_NAME: 'metadata.name',
  K8S_NAMESPACE_NAME: 'metadata.namespace',
  K8S_POD_UID: 'metadata.uid',
  K8S_NODE_NAME: 'spec.nodeName',
  K8S_POD_IP: 'status.podIP',
};

export const envValue = (c: Container, name: string): string | undefined =>
  c.env?.find((e) => e.name === name)?.value;

/** Probes and ports, security, Downward API, secrets, volumes: everything but where the container sits. */
export const assertSidecarContainer = (c: Container, spec: PodSpec): void => {
  expect(c.name).toBe('llmtap');
  const admin = c.ports?.find((p) => p.name === 'llmtap-admin');
  expect(admin?.containerPort).toBe(4546);
  expect(c.startupProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'llmtap-admin' } });
  expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'llmtap-admin' } });
  expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'llmtap-admin' } });
  expect(c.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  for (const [name, fieldPath] of Object.entries(downwardEnv)) {
    expect(
      c.env?.find((e) => e.name === name),
      name,
    ).toEqual({ name, valueFrom: { fieldRef: { fieldPath } } });
  }
  for (const [name, key] of [
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'endpoint'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'headers'],
  ] as const) {
    expect(c.env?.find((e) => e.name === name)?.valueFrom, name).toEqual({
      secretKeyRef: { name: 'llmtap-otlp', key, optional: true },
    });
  }
  expect(envValue(c, 'OTEL_EXPORTER_OTLP_PROTOCOL')).toBe('http/protobuf');
  expect(envValue(c, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')).toBe('delta');
  expect(c.resources?.requests?.cpu).toBeDefined();
  expect(c.resources?.requests?.memory).toBeDefined();
  // V8's heap cap must sit well below the memory limit: bodies, sockets and code live outside the heap.
  const nodeOptions = envValue(c, 'NODE_OPTIONS') ?? '';
  const heapMb = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
  const limitMi = Number(/^(\d+)Mi$/.exec(c.resources?.limits?.memory ?? '')?.[1]);
  expect(heapMb).toBeGreaterThan(0);
  expect(limitMi).toBeGreaterThanOrEqual(2 * heapMb);
  // The young generation is bounded too: unbounded, Node 24 grows it to 2 × 64 MB under load (#15).
  const semiMb = Number(/--max-semi-space-size=(\d+)/.exec(nodeOptions)?.[1]);
  expect(semiMb, 'NODE_OPTIONS --max-semi-space-size').toBeGreaterThan(0);
  expect(semiMb).toBeLessThanOrEqual(16);
  expect(limitMi).toBeGreaterThanOrEqual(2 * (heapMb + 2 * semiMb));
  const requestMi = Number(/^(\d+)Mi$/.exec(c.resources?.requests?.memory ?? '')?.[1]);
  expect(requestMi).toBeGreaterThan(0);
  expect(requestMi).toBeLessThanOrEqual(limitMi);
  const podinfoDir = envValue(c, 'LLMTAP_PODINFO_DIR');
  const podinfoMount = c.volumeMounts?.find((m) => m.mountPath === podinfoDir);
  expect(podinfoMount?.readOnly).toBe(true);
  const podinfo = spec.volumes?.find((v) => v.name === podinfoMount?.name);
  expect(podinfo?.downwardAPI).toEqual({
    items: [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
    ],
  });
  // The grace period must cover the drain timeout plus a flush.
  const drain = /^(\d+)s$/.exec(envValue(c, 'LLMTAP_DRAIN_TIMEOUT') ?? '');
  expect(drain).not.toBeNull();
  expect(spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(Number(drain?.[1]) + 10);
};

/** Native sidecar: an init container that keeps running, gated by a startup probe. */
export const assertNativeSidecar = (spec: PodSpec): Container => {
  const c = spec.initContainers?.find((i) => i.name === 'llmtap');
  expect(c, 'llmtap must be an init container').toBeDefined();
  expect(c?.restartPolicy, 'native sidecar needs restartPolicy: Always').toBe('Always');
  expect(c?.startupProbe, 'native sidecar needs a startupProbe').toBeDefined();
  expect(spec.containers.some((x) => x.name === 'llmtap')).toBe(false);
  assertSidecarContainer(c as Container, spec);
  return c as Container;
};
