/**
 * `service.name` for an injected pod, by the semconv "K8s attributes" order (first value found):
 * annotation `resource.opentelemetry.io/service.name`, label `app.kubernetes.io/instance`, label
 * `app.kubernetes.io/name`, Deployment, ReplicaSet, StatefulSet, DaemonSet, CronJob, Job, pod name,
 * container name. At admission a controller-made pod has only `generateName`, so the workload comes from
 * the owner reference: Deployment = ReplicaSet owner name minus `-<pod-template-hash>`. A Job's CronJob
 * cannot be told from the pod alone, so it is skipped (the Job name follows).
 *
 * One addition right after the annotation: an `OTEL_SERVICE_NAME` the app's first container sets literally.
 * The app already names itself for its own telemetry, and llmtap's spans describe the app's calls, so
 * both should carry the same name.
 */
import type { PodLike } from './pod.ts';

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

export const serviceNameOf = (pod: PodLike): string | undefined => {
  const meta = pod.metadata ?? {};
  const labels = meta.labels ?? {};
  const owner = meta.ownerReferences?.find((o) => o.controller === true) ?? meta.ownerReferences?.[0];
  const ownedBy = (kind: string): string | undefined =>
    owner?.kind === kind ? nonEmpty(owner.name) : undefined;
  const replicaset = ownedBy('ReplicaSet');
  const hash = labels['pod-template-hash'];
  const deployment =
    replicaset !== undefined && hash !== undefined && hash !== '' && replicaset.endsWith(`-${hash}`)
      ? nonEmpty(replicaset.slice(0, -hash.length - 1))
      : undefined;
  const appDeclared = pod.spec.containers
    .flatMap((c) => c.env ?? [])
    // `$(VAR)` refers to the app container's env and would not resolve the same way in llmtap's.
    .find((e) => {
      const value = (e as { value?: unknown }).value;
      return e.name === 'OTEL_SERVICE_NAME' && typeof value === 'string' && !value.includes('$(');
    }) as { value: string } | undefined;
  const candidates = [
    meta.annotations?.['resource.opentelemetry.io/service.name'],
    appDeclared?.value,
    labels['app.kubernetes.io/instance'],
    labels['app.kubernetes.io/name'],
    deployment,
    replicaset,
    ownedBy('StatefulSet'),
    ownedBy('DaemonSet'),
    ownedBy('Job'),
    meta.name,
    pod.spec.containers[0]?.name,
  ];
  for (const candidate of candidates) {
    const value = nonEmpty(candidate);
    if (value !== undefined) return value;
  }
  return undefined;
};
