/**
 * AdmissionReview v1 objects shaped like the ones kube-apiserver sends: a Deployment-made pod arrives
 * with only `generateName`, no uid, defaults already applied, the ReplicaSet as controller owner.
 */
import { randomUUID } from 'node:crypto';

export type Json = Record<string, unknown>;

export const deploymentPod = (
  overrides: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    generateName: 'checkout-7d4b9c8f6d-',
    namespace: 'shop',
    labels: { app: 'checkout', 'pod-template-hash': '7d4b9c8f6d', ...overrides.labels },
    ...(overrides.annotations === undefined ? {} : { annotations: overrides.annotations }),
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'checkout-7d4b9c8f6d',
        uid: '0b7c2f5e-8a43-4b8e-9f5d-2d3c4b5a6e7f',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  },
  spec: {
    volumes: [
      {
        name: 'kube-api-access-x7k2p',
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          ],
          defaultMode: 420,
        },
      },
    ],
    containers: [
      {
        name: 'checkout',
        image: 'ghcr.io/shop/checkout:2.3.1',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'llm-keys', key: 'openai' } } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' } },
        volumeMounts: [
          {
            name: 'kube-api-access-x7k2p',
            readOnly: true,
            mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          },
        ],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
      {
        name: 'metrics-agent',
        image: 'ghcr.io/shop/agent:1.0.0',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    serviceAccount: 'default',
    securityContext: {},
    schedulerName: 'default-scheduler',
    tolerations: [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ],
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: 'PreemptLowerPriority',
  },
  status: {},
});

export const review = (
  object: unknown,
  options: { namespace?: string; kind?: string; group?: string; operation?: string } = {},
) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: randomUUID(),
    kind: { group: options.group ?? '', version: 'v1', kind: options.kind ?? 'Pod' },
    resource: { group: options.group ?? '', version: 'v1', resource: 'pods' },
    requestKind: { group: options.group ?? '', version: 'v1', kind: options.kind ?? 'Pod' },
    requestResource: { group: options.group ?? '', version: 'v1', resource: 'pods' },
    namespace: options.namespace ?? 'shop',
    operation: options.operation ?? 'CREATE',
    userInfo: {
      username: 'system:serviceaccount:kube-system:replicaset-controller',
      uid: '5e2d1c7a-1f0b-4c58-a3f8-1d9e6b0c2a47',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
    },
    object,
    oldObject: null,
    dryRun: false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  },
});
