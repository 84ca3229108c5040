/**
 * The resource = the APP's identity, since every span and metric describes the app's LLM calls. llmtap
 * names itself only in the instrumentation scope, and sets no `k8s.container.name` (the collector's
 * k8s_attributes processor would otherwise attach the sidecar's image and version to the app's data).
 * Rules: kubernetes.md §2 and semconv non-normative/k8s-attributes.md ("choose the first value found").
 */
import type { PodInfo } from './podinfo.ts';

export interface PodIdentityInput {
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly k8s: {
    readonly podName: string | undefined;
    readonly namespaceName: string | undefined;
    readonly podUid: string | undefined;
    readonly nodeName: string | undefined;
    readonly podIp: string | undefined;
  };
}

/** Annotations with this prefix name resource attributes (`resource.opentelemetry.io/service.name`). */
const resourceAnnotationPrefix = 'resource.opentelemetry.io/';

/** `<deployment>-<pod-template-hash>-<suffix>`: split only when the hash label is really in the name. */
const deploymentNames = (
  podName: string | undefined,
  labels: Readonly<Record<string, string>>,
): { deployment: string; replicaset: string } | undefined => {
  const hash = labels['pod-template-hash'];
  if (podName === undefined || hash === undefined || hash === '') return undefined;
  const at = podName.lastIndexOf(`-${hash}-`);
  if (at <= 0) return undefined;
  const deployment = podName.slice(0, at);
  return { deployment, replicaset: `${deployment}-${hash}` };
};

/** StatefulSet pods are `<statefulset>-<ordinal>` and carry the ordinal as `apps.kubernetes.io/pod-index`. */
const statefulSetName = (
  podName: string | undefined,
  labels: Readonly<Record<string, string>>,
): string | undefined => {
  const index = labels['apps.kubernetes.io/pod-index'];
  if (podName === undefined || index === undefined || !podName.endsWith(`-${index}`)) return undefined;
  if (labels['statefulset.kubernetes.io/pod-name'] !== podName) return undefined;
  return podName.slice(0, -(index.length + 1)) || undefined;
};

const firstDefined = (...values: readonly (string | undefined)[]): string | undefined =>
  values.find((v) => v !== undefined && v !== '');

/**
 * Resource attributes for the app: k8s.* from the Downward-API env, labels, derived workload names,
 * `resource.opentelemetry.io/*` annotations, then `OTEL_RESOURCE_ATTRIBUTES` (which wins), and
 * `service.name` by the semconv order. `fallbackName` (the host name, which is the pod name in a pod)
 * is the last resort so that `service.name` is never `unknown_service`.
 */
export const podIdentity = (
  input: PodIdentityInput,
  pod: PodInfo,
  fallbackName: string,
): Record<string, string> => {
  const { k8s } = input;
  const attrs: Record<string, string> = {};
  const set = (key: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') attrs[key] = value;
  };
  set('k8s.pod.name', k8s.podName);
  set('k8s.namespace.name', k8s.namespaceName);
  set('k8s.pod.uid', k8s.podUid);
  set('k8s.node.name', k8s.nodeName);
  set('k8s.pod.ip', k8s.podIp);
  for (const [key, value] of Object.entries(pod.labels)) set(`k8s.pod.label.${key}`, value);

  const workload = deploymentNames(k8s.podName, pod.labels);
  set('k8s.deployment.name', workload?.deployment);
  set('k8s.replicaset.name', workload?.replicaset);
  const statefulset = statefulSetName(k8s.podName, pod.labels);
  set('k8s.statefulset.name', statefulset);
  const job = firstDefined(pod.labels['batch.kubernetes.io/job-name'], pod.labels['job-name']);
  set('k8s.job.name', job);

  // Only the annotations meant as resource attributes leave the pod: others can hold whole manifests.
  for (const [key, value] of Object.entries(pod.annotations)) {
    if (key.startsWith(resourceAnnotationPrefix) && key.length > resourceAnnotationPrefix.length) {
      set(key.slice(resourceAnnotationPrefix.length), value);
    }
  }
  set('service.namespace', firstDefined(attrs['service.namespace'], k8s.namespaceName));
  set('service.version', firstDefined(attrs['service.version'], pod.labels['app.kubernetes.io/version']));

  Object.assign(attrs, input.resourceAttributes);

  attrs['service.name'] =
    firstDefined(
      input.serviceName,
      input.resourceAttributes['service.name'],
      pod.annotations[`${resourceAnnotationPrefix}service.name`],
      pod.labels['app.kubernetes.io/instance'],
      pod.labels['app.kubernetes.io/name'],
      workload?.deployment,
      workload?.replicaset,
      statefulset,
      job,
      k8s.podName,
      fallbackName,
    ) ?? 'llm-app';
  return attrs;
};
