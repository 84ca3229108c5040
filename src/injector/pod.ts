/**
 * The parts of a Pod the injector reads, validated loosely: unknown fields pass through untouched,
 * because the patch is computed against the object exactly as the API server sent it.
 */
import { z } from 'zod';

const envVarSchema = z.looseObject({ name: z.string() });

export const containerSchema = z.looseObject({
  name: z.string().min(1),
  env: z.array(envVarSchema).optional(),
  envFrom: z.array(z.unknown()).optional(),
  ports: z.array(z.looseObject({ containerPort: z.number().int() })).optional(),
});

export const podSchema = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().optional(),
      generateName: z.string().optional(),
      namespace: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
      ownerReferences: z
        .array(z.looseObject({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
        .optional(),
    })
    .optional(),
  spec: z.looseObject({
    containers: z.array(containerSchema).min(1),
    initContainers: z.array(containerSchema).optional(),
    volumes: z.array(z.looseObject({ name: z.string() })).optional(),
    terminationGracePeriodSeconds: z.number().int().optional(),
    hostNetwork: z.boolean().optional(),
    os: z.looseObject({ name: z.string() }).optional(),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    restartPolicy: z.string().optional(),
  }),
});

export type PodLike = z.infer<typeof podSchema>;
export type ContainerLike = z.infer<typeof containerSchema>;
