/**
 * One source of truth: the container the injector adds is the one `kubectl kustomize` renders from the
 * sidecar component (native) and from the classic-sidecar overlay (classic). The only differences are the
 * ones the injector documents: OTEL_SERVICE_NAME computed per pod, and the ConfigMap named per pod.
 */
import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { parseInjectorFlags } from '../../src/injector/flags.ts';
import { decide, type InjectOptions } from '../../src/injector/mutate.ts';
import { podSchema } from '../../src/injector/pod.ts';
import { loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { type K8sObject, kustomize, repoRoot } from '../deploy/kubectl.ts';
import type { Json } from './fixtures.ts';

type Container = Json & { name: string; image: string; env?: Array<{ name: string }> };
type Volume = Json & { name: string; configMap?: { name: string } };
type Spec = { initContainers?: Container[]; containers: Container[]; volumes?: Volume[] };

const template = loadTemplate(join(repoRoot, templateRelativePath));
const options: InjectOptions = {
  template,
  mode: 'native',
  proxyUrl: 'http://127.0.0.1:4545',
  excludedNamespaces: new Set(),
  version: '0.1.0',
};

const renderedSpec = (dir: string): Spec => {
  const d = kustomize(dir).find((x) => x.kind === 'Deployment') as unknown as {
    spec: { template: { spec: Spec } };
  };
  return d.spec.template.spec;
};

/** Injects into the example app's pod, configured like the kustomize base (ConfigMap llmtap-config). */
const injected = (mode: 'native' | 'classic'): Spec => {
  const pod = {
    metadata: {
      labels: { 'app.kubernetes.io/name': 'chat-app' },
      annotations: { 'llmtap.io/config': 'llmtap-config' },
    },
    spec: { containers: [{ name: 'chat-app', image: 'ghcr.io/your-org/chat-app:1.4.2' }] },
  };
  const decision = decide(podSchema.parse(pod), 'shop', { ...options, mode });
  if (!decision.inject) throw new Error(decision.reason);
  return (
    jsonPatch.applyPatch(pod, decision.patch as jsonPatch.Operation[], true, false).newDocument as {
      spec: Spec;
    }
  ).spec;
};

const withoutServiceName = (c: Container | undefined): Container | undefined =>
  c === undefined ? undefined : { ...c, env: (c.env ?? []).filter((e) => e.name !== 'OTEL_SERVICE_NAME') };

describe('injector and kustomize agree on the sidecar', () => {
  it('native: the injected init container equals the rendered base one', () => {
    const rendered = renderedSpec('deploy/base');
    const mine = injected('native');
    const sidecar = mine.initContainers?.find((c) => c.name === 'llmtap');
    expect(sidecar?.env?.some((e) => e.name === 'OTEL_SERVICE_NAME')).toBe(true);
    expect(withoutServiceName(sidecar)).toEqual(rendered.initContainers?.find((c) => c.name === 'llmtap'));
    // Volumes equal up to kustomize's content hash on the ConfigMap name.
    const unhash = (v: Volume): Volume =>
      v.configMap === undefined
        ? v
        : { ...v, configMap: { name: v.configMap.name.replace(/-[a-z0-9]{10}$/, '') } };
    expect(mine.volumes).toEqual(rendered.volumes?.map(unhash));
  });

  it('classic: the injected container equals the classic-sidecar overlay one', () => {
    const rendered = renderedSpec('deploy/overlays/classic-sidecar');
    const sidecar = injected('classic').containers.find((c) => c.name === 'llmtap');
    expect(withoutServiceName(sidecar)).toEqual(rendered.containers.find((c) => c.name === 'llmtap'));
  });
});

describe('deploy/injector manifests', () => {
  const docs = kustomize('deploy/injector');
  const byKind = (kind: string): K8sObject[] => docs.filter((d) => d.kind === kind);
  const deployment = byKind('Deployment')[0] as unknown as {
    metadata: { namespace: string };
    spec: {
      replicas: number;
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          containers: Array<
            Container & { args: string[]; ports: Array<{ name: string; containerPort: number }> }
          >;
          volumes: Volume[];
          automountServiceAccountToken?: boolean;
        };
      };
    };
  };
  const container = deployment.spec.template.spec.containers[0];
  const flags = parseInjectorFlags((container?.args ?? []).slice(1), {
    K8S_NAMESPACE_NAME: deployment.metadata.namespace,
  });
  const webhookConfig = byKind('MutatingWebhookConfiguration')[0] as unknown as {
    metadata: { annotations: Record<string, string> };
    webhooks: Array<{
      name: string;
      failurePolicy: string;
      sideEffects: string;
      reinvocationPolicy: string;
      timeoutSeconds: number;
      admissionReviewVersions: string[];
      clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
      namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
      objectSelector: {
        matchLabels?: Record<string, string>;
        matchExpressions?: Array<{ key: string; operator: string; values: string[] }>;
      };
      rules: Array<{ operations: string[]; resources: string[] }>;
    }>;
  };

  it('runs `llmtap inject` with flags the injector accepts, the same image for itself and the sidecar', () => {
    expect(container?.args[0]).toBe('inject');
    // auto: native from 1.29 on, classic below or when the API server cannot be asked (no pod hangs in Init).
    expect(flags.mode).toBe('auto');
    // It reads the cluster CA from the kube-root-ca.crt ConfigMap, and still mounts no API token.
    const mount = ((container?.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>).find((m) =>
      flags.kubeCaFile.startsWith(`${m.mountPath}/`),
    );
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount?.name) as
      | { configMap?: { name: string; items: Array<{ key: string; path: string }> } }
      | undefined;
    expect(volume?.configMap?.name).toBe('kube-root-ca.crt');
    expect(volume?.configMap?.items).toEqual([{ key: 'ca.crt', path: flags.kubeCaFile.split('/').pop() }]);
    expect(flags.image).toBe(container?.image);
    expect(flags.image).toBe(template.container.image);
    expect(flags.excludedNamespaces.has(deployment.metadata.namespace)).toBe(true);
  });

  it('mounts the cert-manager Secret where --tls-cert/--tls-key point', () => {
    const secretVolume = deployment.spec.template.spec.volumes.find(
      (v) => (v as { secret?: unknown }).secret !== undefined,
    ) as { name: string; secret: { secretName: string } } | undefined;
    const mounts = (container?.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>;
    const mount = mounts.find((m) => m.name === secretVolume?.name);
    expect(flags.certFile).toBe(`${mount?.mountPath}/tls.crt`);
    expect(flags.keyFile).toBe(`${mount?.mountPath}/tls.key`);
    const cert = byKind('Certificate').find(
      (c) =>
        (c as unknown as { spec: { secretName: string } }).spec.secretName ===
        secretVolume?.secret.secretName,
    ) as (K8sObject & { spec: { dnsNames: string[] } }) | undefined;
    expect(cert).toBeDefined();
    const service = byKind('Service')[0];
    expect(cert?.spec.dnsNames).toContain(`${service?.metadata.name}.${deployment.metadata.namespace}.svc`);
    expect(webhookConfig.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
      `${deployment.metadata.namespace}/${cert?.metadata.name}`,
    );
  });

  it('probes readiness on /readyz (503 while shutting down) and liveness on /healthz, over HTTPS', () => {
    const c = container as unknown as {
      readinessProbe: { httpGet: { scheme: string; path: string; port: string } };
      livenessProbe: { httpGet: { scheme: string; path: string; port: string } };
    };
    expect(c.readinessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/readyz', port: 'https' });
    expect(c.livenessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/healthz', port: 'https' });
    const grace =
      (deployment.spec.template.spec as { terminationGracePeriodSeconds?: number })
        .terminationGracePeriodSeconds ?? 30;
    expect(grace * 1000).toBeGreaterThan(flags.shutdownDelayMs + 5_000);
  });

  it('is highly available and needs no API access', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(byKind('PodDisruptionBudget')).toHaveLength(1);
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(docs.filter((d) => /Role/.test(d.kind))).toEqual([]);
    expect(deployment.spec.template.metadata.labels['llmtap.io/inject']).toBe('disabled');
  });

  it('webhooks: pods CREATE only, Ignore on failure, small timeout, IfNeeded, v1, the injector Service', () => {
    const service = byKind('Service')[0] as unknown as {
      metadata: { name: string };
      spec: { ports: Array<{ port: number; targetPort: string }> };
    };
    expect(webhookConfig.webhooks).toHaveLength(2);
    for (const w of webhookConfig.webhooks) {
      expect(w.failurePolicy).toBe('Ignore');
      expect(w.sideEffects).toBe('None');
      expect(w.reinvocationPolicy).toBe('IfNeeded');
      expect(w.timeoutSeconds).toBeLessThanOrEqual(5);
      expect(w.admissionReviewVersions).toEqual(['v1']);
      expect(w.rules).toEqual([expect.objectContaining({ operations: ['CREATE'], resources: ['pods'] })]);
      expect(w.clientConfig.service).toEqual({
        name: service.metadata.name,
        namespace: deployment.metadata.namespace,
        path: '/mutate',
        port: service.spec.ports[0]?.port,
      });
      const excluded = w.namespaceSelector.matchExpressions.find(
        (e) => e.key === 'kubernetes.io/metadata.name',
      );
      expect(excluded?.operator).toBe('NotIn');
      expect(excluded?.values).toEqual(
        expect.arrayContaining(['kube-system', deployment.metadata.namespace]),
      );
      for (const ns of excluded?.values ?? []) {
        if (ns !== deployment.metadata.namespace) expect(flags.excludedNamespaces.has(ns), ns).toBe(true);
      }
    }
    expect(container?.ports.find((p) => p.name === service.spec.ports[0]?.targetPort)?.containerPort).toBe(
      flags.port,
    );
  });

  it('opt-in by namespace or pod label, opt-out by pod label, namespace selectors disjoint', () => {
    const [byNamespace, byPod] = webhookConfig.webhooks;
    const nsInject = (w: typeof byNamespace) =>
      w?.namespaceSelector.matchExpressions.find((e) => e.key === 'llmtap.io/inject');
    expect(nsInject(byNamespace)).toEqual({ key: 'llmtap.io/inject', operator: 'In', values: ['enabled'] });
    expect(nsInject(byPod)).toEqual({ key: 'llmtap.io/inject', operator: 'NotIn', values: ['enabled'] });
    expect(byNamespace?.objectSelector.matchExpressions).toEqual([
      { key: 'llmtap.io/inject', operator: 'NotIn', values: ['disabled'] },
    ]);
    expect(byPod?.objectSelector.matchLabels).toEqual({ 'llmtap.io/inject': 'enabled' });
  });
});
