/**
 * The sidecar template: the kustomize patch `deploy/components/llmtap-sidecar/sidecar.yaml`, read as
 * data. It is the only definition of the llmtap container; the injector adds exactly what it says.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InjectorError } from './errors.ts';

export const templateRelativePath = 'deploy/components/llmtap-sidecar/sidecar.yaml';
export const sidecarName = 'llmtap';

const envVarSchema = z.looseObject({ name: z.string().min(1), value: z.string().optional() });
const containerSchema = z.looseObject({
  name: z.literal(sidecarName),
  image: z.string().min(1),
  env: z.array(envVarSchema).default([]),
  volumeMounts: z.array(z.looseObject({ name: z.string().min(1), mountPath: z.string().min(1) })).default([]),
});
const templateSchema = z.looseObject({
  spec: z.looseObject({
    template: z.looseObject({
      spec: z.looseObject({
        // Optional: the kustomize component must not set it (it would shorten an app's longer period).
        terminationGracePeriodSeconds: z.number().int().min(0).optional(),
        initContainers: z.array(containerSchema).length(1),
        volumes: z.array(z.looseObject({ name: z.string().min(1) })).min(1),
      }),
    }),
  }),
});

export type TemplateContainer = z.infer<typeof containerSchema>;
export type TemplateVolume = z.infer<typeof templateSchema>['spec']['template']['spec']['volumes'][number];

export interface SidecarTemplate {
  readonly container: TemplateContainer;
  readonly volumes: readonly TemplateVolume[];
  /** The least grace period llmtap needs; the injector raises a shorter one and never lowers one. */
  readonly terminationGracePeriodSeconds: number;
  /** The ConfigMap volume holding `LLMTAP_CONFIG`, if the template mounts one. */
  readonly configVolumeName: string | undefined;
}

/** Kubernetes' default `terminationGracePeriodSeconds`. */
const defaultGraceSeconds = 30;

/**
 * The grace period llmtap needs: its drain timeout (`LLMTAP_DRAIN_TIMEOUT`, `20s`/`500ms`/`1m`/bare seconds)
 * plus 10 s for the classic preStop wait and the telemetry flush; at least the Kubernetes default.
 */
export const graceFromDrain = (drain: string | undefined): number => {
  const match = /^(\d+)(ms|s|m)?$/.exec(drain?.trim() ?? '');
  if (match === null) return defaultGraceSeconds + 15;
  const unit = match[2] ?? 's';
  const seconds = Number(match[1]) * (unit === 'ms' ? 0.001 : unit === 'm' ? 60 : 1);
  return Math.max(defaultGraceSeconds, Math.ceil(seconds) + 10);
};

/** Validates a parsed template document. */
export const templateFromObject = (doc: unknown, origin: string): SidecarTemplate => {
  const parsed = templateSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InjectorError(
      'LLMTAP_INJECTOR_TEMPLATE',
      `sidecar template ${origin}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const spec = parsed.data.spec.template.spec;
  const container = spec.initContainers[0] as TemplateContainer;
  const configPath = container.env.find((e) => e.name === 'LLMTAP_CONFIG')?.value;
  const configMount =
    configPath === undefined
      ? undefined
      : container.volumeMounts.find((m) => m.mountPath === dirname(configPath));
  const configVolume = spec.volumes.find((v) => v.name === configMount?.name && 'configMap' in v);
  return {
    container,
    volumes: spec.volumes,
    terminationGracePeriodSeconds:
      spec.terminationGracePeriodSeconds ??
      graceFromDrain(container.env.find((e) => e.name === 'LLMTAP_DRAIN_TIMEOUT')?.value),
    configVolumeName: configVolume?.name,
  };
};

export const loadTemplate = (path: string): SidecarTemplate => {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InjectorError(
      'LLMTAP_INJECTOR_TEMPLATE',
      `cannot read sidecar template ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return templateFromObject(doc, path);
};

/**
 * Where the template sits next to this module: `<root>/deploy/...` from `<root>/src/injector` (source)
 * or `<root>/dist` (the bundle, and in the image under /app).
 */
export const defaultTemplatePath = (exists: (path: string) => boolean): string | undefined => {
  let dir = import.meta.dirname;
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, templateRelativePath);
    if (exists(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
};
