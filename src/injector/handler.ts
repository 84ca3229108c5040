/**
 * AdmissionReview v1 in, AdmissionReview v1 out. Whatever arrives (bad JSON, another kind, a body over
 * the limit, a bug in mutate), the answer is a well-formed `allowed: true`: a webhook that fails or
 * returns 500 stalls the API server until its timeout, and llmtap must never block a deployment.
 */
import { z } from 'zod';
import type { LogFields } from '../log.ts';
import { decide, type InjectOptions } from './mutate.ts';
import { podSchema } from './pod.ts';

const reviewSchema = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: z.looseObject({ group: z.string(), version: z.string(), kind: z.string() }),
    namespace: z.string().optional(),
    operation: z.string(),
    object: z.unknown(),
  }),
});

export interface AdmissionReviewResponse {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: true;
    readonly patchType?: 'JSONPatch';
    readonly patch?: string;
  };
}

export interface HandledReview {
  readonly body: AdmissionReviewResponse;
  /** One log line per review: what was decided and why; never env values or other pod content. */
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: LogFields;
}

const allow = (uid: string, patch?: unknown[]): AdmissionReviewResponse => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response:
    patch === undefined || patch.length === 0
      ? { uid, allowed: true }
      : {
          uid,
          allowed: true,
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        },
});

/** The request's uid if one can be found, so the API server can match even a rejected review. */
const uidOf = (value: unknown): string => {
  const uid = (value as { request?: { uid?: unknown } } | null)?.request?.uid;
  return typeof uid === 'string' ? uid.slice(0, 128) : '';
};

export const handleReview = (raw: Buffer | undefined, options: InjectOptions): HandledReview => {
  if (raw === undefined) {
    return { body: allow(''), level: 'warn', fields: { decision: 'malformed', reason: 'body-too-large' } };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return {
      body: allow(''),
      level: 'warn',
      fields: { decision: 'malformed', reason: 'invalid-json', bytes: raw.length },
    };
  }
  const uid = uidOf(json);
  const review = reviewSchema.safeParse(json);
  if (!review.success) {
    const issue = review.error.issues[0];
    return {
      body: allow(uid),
      level: 'warn',
      fields: { decision: 'malformed', reason: 'not-an-admission-review', uid, at: issue?.path.join('.') },
    };
  }
  const request = review.data.request;
  const base = { uid, namespace: request.namespace, operation: request.operation };
  if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.operation !== 'CREATE') {
    return {
      body: allow(uid),
      level: 'warn',
      fields: { ...base, decision: 'skipped', reason: 'not-a-pod-create', kind: request.kind.kind },
    };
  }
  const pod = podSchema.safeParse(request.object);
  if (!pod.success) {
    const issue = pod.error.issues[0];
    return {
      body: allow(uid),
      level: 'warn',
      fields: { ...base, decision: 'malformed', reason: 'invalid-pod', at: issue?.path.join('.') },
    };
  }
  const podName = pod.data.metadata?.name ?? pod.data.metadata?.generateName;
  try {
    const decision = decide(pod.data, request.namespace, options);
    if (!decision.inject) {
      return {
        body: allow(uid),
        level: 'info',
        fields: { ...base, pod: podName, decision: 'skipped', reason: decision.reason },
      };
    }
    return {
      body: allow(uid, decision.patch),
      level: 'info',
      fields: {
        ...base,
        pod: podName,
        decision: 'injected',
        mode: decision.status.mode,
        telemetryMode: decision.status.telemetryMode,
        serviceName: decision.status.serviceName,
        config: decision.status.config,
        env: decision.status.env,
        notes: decision.status.notes.length > 0 ? decision.status.notes : undefined,
        ops: decision.patch.length,
      },
    };
  } catch (error) {
    return { body: allow(uid), level: 'error', fields: { ...base, pod: podName, decision: 'error', error } };
  }
};
