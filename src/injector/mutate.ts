/**
 * The injection itself, as a pure function: pod in, decision and RFC 6902 patch out. No I/O, so every
 * case is testable without a server; handler.ts wraps it in the AdmissionReview protocol.
 *
 * Size: the whole decision is one pure function whose cases are read side by side, each tested.
 */
import {
  type SemconvCompat,
  semconvCompatValues,
  type TelemetryMode,
  telemetryModes,
} from '../config/schema.ts';
import type { ContainerLike, PodLike } from './pod.ts';
import { azureSigns, defaultProviders, isSdkProvider, type SdkProvider, sdkEnv } from './sdk-env.ts';
import { serviceNameOf } from './service-name.ts';
import { type SidecarTemplate, sidecarName, type TemplateContainer } from './template.ts';

export const labelInject = 'llmtap.io/inject';
export const annotationStatus = 'llmtap.io/status';
export const annotationConfig = 'llmtap.io/config';
export const annotationProviders = 'llmtap.io/providers';
/** The sidecar's `LLMTAP_MODE` (full, metrics, spans, off). */
export const annotationTelemetryMode = 'llmtap.io/mode';
/** The sidecar's `LLMTAP_SEMCONV_COMPAT` (off, openllmetry, openllmetry-content). */
export const annotationSemconvCompat = 'llmtap.io/semconv-compat';
/** What instruments the app itself; picks the mode when `llmtap.io/mode` is absent (docs/telemetry.md, "Modes"). */
export const annotationAppInstrumentation = 'llmtap.io/app-instrumentation';

/**
 * The mode each in-app instrumentation wants, so that no call is counted twice: OpenLLMetry-JS makes spans and no
 * metrics; OpenLLMetry-Python (traceloop-sdk) makes spans and the GenAI metrics; `none` leaves it all to llmtap.
 */
export const appInstrumentationModes: Readonly<Record<string, TelemetryMode>> = {
  'openllmetry-js': 'metrics',
  'openllmetry-python': 'off',
  none: 'full',
};
export const resourceAnnotations = {
  'llmtap.io/cpu-request': ['requests', 'cpu'],
  'llmtap.io/memory-request': ['requests', 'memory'],
  'llmtap.io/cpu-limit': ['limits', 'cpu'],
  'llmtap.io/memory-limit': ['limits', 'memory'],
} as const;
const defaultContainerAnnotation = 'kubectl.kubernetes.io/default-container';

export type SidecarMode = 'native' | 'classic';

export interface InjectOptions {
  readonly template: SidecarTemplate;
  readonly mode: SidecarMode;
  /** Why this mode (`--sidecar-mode=auto`: the API server version), recorded in the status annotation. */
  readonly modeReason?: string | undefined;
  /** Overrides the template's image (the injector's own release). */
  readonly image?: string | undefined;
  /** Origin of llmtap's data port as the app sees it, e.g. `http://127.0.0.1:4545`. */
  readonly proxyUrl: string;
  readonly defaultProviders?: readonly SdkProvider[];
  readonly excludedNamespaces: ReadonlySet<string>;
  readonly version: string;
}

export interface PatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

export type SkipReason =
  | 'excluded-namespace'
  | 'opted-out'
  | 'already-injected'
  | 'host-network'
  | 'windows-pod'
  | 'port-conflict'
  | 'name-conflict'
  | 'classic-sidecar-in-job';

/** What the injector did, recorded on the pod as the `llmtap.io/status` annotation. */
export interface InjectionStatus {
  readonly version: string;
  readonly mode: SidecarMode;
  readonly modeReason?: string;
  readonly image: string;
  readonly serviceName: string | undefined;
  readonly config: string | null;
  /** The sidecar's `LLMTAP_MODE` when an annotation chose one (else llmtap's default, `full`). */
  readonly telemetryMode?: TelemetryMode;
  /** The sidecar's `LLMTAP_SEMCONV_COMPAT` when the annotation set one. */
  readonly semconvCompat?: SemconvCompat;
  /** Per app container: env vars set, and those left alone because the container already sets them. */
  readonly env: Record<string, { set: string[]; kept: string[]; skipped?: string }>;
  readonly notes: string[];
}

export type Decision =
  | { readonly inject: false; readonly reason: SkipReason }
  | { readonly inject: true; readonly patch: PatchOperation[]; readonly status: InjectionStatus };

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export const pointerToken = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

// DNS-1123 subdomain (ConfigMap names) and Kubernetes resource quantities.
const dns1123 = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const quantity =
  /^(?=.{1,64}$)\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

const hasEnv = (c: ContainerLike, name: string): boolean => c.env?.some((e) => e.name === name) ?? false;

/** Which SDK base URLs to set: the annotation's list (`openai,anthropic`, `none`) or the defaults. */
const selectProviders = (
  annotation: string | undefined,
  fallback: readonly SdkProvider[],
  notes: string[],
): SdkProvider[] => {
  if (annotation === undefined) return [...fallback];
  const chosen: SdkProvider[] = [];
  for (const raw of annotation.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '' || name === 'none') continue;
    if (isSdkProvider(name)) {
      if (!chosen.includes(name)) chosen.push(name);
    } else
      notes.push(`${annotationProviders}: unknown provider ${JSON.stringify(name.slice(0, 40))} ignored`);
  }
  return chosen;
};

const isTelemetryMode = (value: string): value is TelemetryMode =>
  (telemetryModes as readonly string[]).includes(value);

/**
 * The telemetry mode the pod's annotations ask for: `llmtap.io/mode`, else the mode its
 * `llmtap.io/app-instrumentation` wants. A bad value is noted and ignored — never a reason to fail the pod.
 */
export const telemetryModeOf = (
  annotations: Readonly<Record<string, string>>,
  notes: string[],
): TelemetryMode | undefined => {
  const quote = (value: string): string => JSON.stringify(value.slice(0, 40));
  let fromApp: TelemetryMode | undefined;
  const app = annotations[annotationAppInstrumentation];
  if (app !== undefined) {
    const key = app.trim().toLowerCase();
    fromApp = Object.hasOwn(appInstrumentationModes, key) ? appInstrumentationModes[key] : undefined;
    if (fromApp === undefined) {
      notes.push(
        `${annotationAppInstrumentation}: unknown value ${quote(app)} ignored (allowed: ${Object.keys(appInstrumentationModes).join(', ')})`,
      );
    }
  }
  const raw = annotations[annotationTelemetryMode];
  if (raw === undefined) return fromApp;
  const mode = raw.trim().toLowerCase();
  if (!isTelemetryMode(mode)) {
    notes.push(
      `${annotationTelemetryMode}: unknown mode ${quote(raw)} ignored (allowed: ${telemetryModes.join(', ')})`,
    );
    return fromApp;
  }
  if (fromApp !== undefined && fromApp !== mode) {
    notes.push(
      `${annotationTelemetryMode}=${mode} overrides the ${fromApp} that ${annotationAppInstrumentation} picks`,
    );
  }
  return mode;
};

/** `llmtap.io/semconv-compat`, when set to a value llmtap knows; anything else is noted and ignored. */
export const semconvCompatOf = (
  annotations: Readonly<Record<string, string>>,
  notes: string[],
): SemconvCompat | undefined => {
  const raw = annotations[annotationSemconvCompat];
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if ((semconvCompatValues as readonly string[]).includes(value)) return value as SemconvCompat;
  notes.push(
    `${annotationSemconvCompat}: unknown value ${JSON.stringify(raw.slice(0, 40))} ignored (allowed: ${semconvCompatValues.join(', ')})`,
  );
  return undefined;
};

/** Sets (or replaces) one env var of the sidecar. */
const setEnv = (c: TemplateContainer, name: string, value: string): void => {
  c.env = [...c.env.filter((e) => e.name !== name), { name, value }];
};

/** The container to add: the template's, with the per-pod options applied. */
const buildSidecar = (
  pod: PodLike,
  options: InjectOptions,
  serviceName: string | undefined,
  config: string | null,
  telemetryMode: TelemetryMode | undefined,
  semconvCompat: SemconvCompat | undefined,
  notes: string[],
): TemplateContainer => {
  const { template } = options;
  const c = structuredClone(template.container) as TemplateContainer & Record<string, unknown>;
  if (options.image !== undefined) c.image = options.image;
  if (config === null && template.configVolumeName !== undefined) {
    // No ConfigMap named for this pod: run on built-in routes (a missing file would stop llmtap).
    c.env = c.env.filter((e) => e.name !== 'LLMTAP_CONFIG');
    c.volumeMounts = c.volumeMounts.filter((m) => m.name !== template.configVolumeName);
  }
  if (serviceName !== undefined) {
    c.env = [
      ...c.env.filter((e) => e.name !== 'OTEL_SERVICE_NAME'),
      { name: 'OTEL_SERVICE_NAME', value: serviceName },
    ];
  }
  if (telemetryMode !== undefined) setEnv(c, 'LLMTAP_MODE', telemetryMode);
  if (semconvCompat !== undefined) setEnv(c, 'LLMTAP_SEMCONV_COMPAT', semconvCompat);
  const annotations = pod.metadata?.annotations ?? {};
  for (const [key, [section, resource]] of Object.entries(resourceAnnotations)) {
    const value = annotations[key];
    if (value === undefined) continue;
    if (!quantity.test(value)) {
      notes.push(`${key}: not a resource quantity, ignored`);
      continue;
    }
    const resources = (c.resources ?? {}) as Record<string, Record<string, string>>;
    resources[section] = { ...(resources[section] ?? {}), [resource]: value };
    c.resources = resources;
  }
  if (options.mode === 'classic') {
    // Same change as deploy/overlays/classic-sidecar/classic.yaml (test/injector proves it).
    delete c.restartPolicy;
    c.lifecycle = { preStop: { exec: { command: ['node', '-e', 'setTimeout(() => {}, 5000)'] } } };
  }
  return c;
};

/** The ports llmtap listens on in the pod: the data port (from the proxy URL) and the declared ones. */
const llmtapPorts = (options: InjectOptions): number[] => {
  const url = new URL(options.proxyUrl);
  const declared = ((options.template.container.ports ?? []) as Array<{ containerPort?: unknown }>)
    .map((p) => p.containerPort)
    .filter((p): p is number => typeof p === 'number');
  return [Number(url.port === '' ? 80 : url.port), ...declared];
};

export const decide = (pod: PodLike, namespace: string | undefined, options: InjectOptions): Decision => {
  const meta = pod.metadata ?? {};
  const spec = pod.spec;
  if (namespace !== undefined && options.excludedNamespaces.has(namespace)) {
    return { inject: false, reason: 'excluded-namespace' };
  }
  if (meta.labels?.[labelInject] === 'disabled') return { inject: false, reason: 'opted-out' };
  const allContainers = [...(spec.initContainers ?? []), ...spec.containers];
  if (
    meta.annotations?.[annotationStatus] !== undefined ||
    allContainers.some((c) => c.name === sidecarName)
  ) {
    return { inject: false, reason: 'already-injected' };
  }
  // The data port would be the node's port, shared by every hostNetwork pod on it.
  if (spec.hostNetwork === true) return { inject: false, reason: 'host-network' };
  // The image is Linux-only.
  if (spec.os?.name === 'windows' || spec.nodeSelector?.['kubernetes.io/os'] === 'windows') {
    return { inject: false, reason: 'windows-pod' };
  }
  // An app already on llmtap's ports would keep llmtap from listening, and its startup probe would then
  // hold the app back forever.
  const taken = new Set(allContainers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)));
  if (llmtapPorts(options).some((port) => taken.has(port))) return { inject: false, reason: 'port-conflict' };
  // A classic sidecar never exits, so a Job's pod would never complete.
  if (options.mode === 'classic' && (spec.restartPolicy ?? 'Always') !== 'Always') {
    return { inject: false, reason: 'classic-sidecar-in-job' };
  }

  const notes: string[] = [];
  const annotations = meta.annotations ?? {};
  let config: string | null = null;
  const configAnnotation = annotations[annotationConfig];
  if (configAnnotation !== undefined) {
    if (dns1123.test(configAnnotation) && options.template.configVolumeName !== undefined)
      config = configAnnotation;
    else notes.push(`${annotationConfig}: not a ConfigMap name, ignored (built-in routes only)`);
  }
  const volumes = options.template.volumes
    .filter((v) => config !== null || v.name !== options.template.configVolumeName)
    .map((v) =>
      v.name === options.template.configVolumeName
        ? { ...v, configMap: { ...(v.configMap as Record<string, unknown>), name: config } }
        : v,
    );
  const existingVolumes = new Set((spec.volumes ?? []).map((v) => v.name));
  if (volumes.some((v) => existingVolumes.has(v.name))) return { inject: false, reason: 'name-conflict' };

  const serviceName = serviceNameOf(pod);
  const telemetryMode = telemetryModeOf(annotations, notes);
  const semconvCompat = semconvCompatOf(annotations, notes);
  const sidecar = buildSidecar(pod, options, serviceName, config, telemetryMode, semconvCompat, notes);
  const patch: PatchOperation[] = [];
  const add = (path: string, value: unknown): void => {
    patch.push({ op: 'add', path, value });
  };

  // App env first: inserting a classic sidecar at containers/0 shifts the indices after it.
  const providers = selectProviders(
    annotations[annotationProviders],
    options.defaultProviders ?? defaultProviders,
    notes,
  );
  const envStatus: InjectionStatus['env'] = {};
  spec.containers.forEach((container, index) => {
    const entry: InjectionStatus['env'][string] = { set: [], kept: [] };
    envStatus[container.name] = entry;
    if (providers.length === 0) return;
    // env overrides envFrom, and we cannot see what a ConfigMap/Secret in envFrom holds: leave it alone.
    if ((container.envFrom?.length ?? 0) > 0) {
      entry.skipped = 'envFrom';
      return;
    }
    const additions: Array<{ name: string; value: string }> = [];
    for (const provider of providers) {
      const { env, path } = sdkEnv[provider];
      if (hasEnv(container, env)) entry.kept.push(env);
      else if (provider === 'openai' && azureSigns.some((sign) => hasEnv(container, sign)))
        entry.kept.push(env);
      else additions.push({ name: env, value: `${options.proxyUrl}${path}` });
    }
    entry.set = additions.map((a) => a.name);
    if (additions.length === 0) return;
    if (container.env === undefined) add(`/spec/containers/${index}/env`, additions);
    else for (const a of additions) add(`/spec/containers/${index}/env/-`, a);
  });

  if (options.mode === 'native') {
    if (spec.initContainers === undefined) add('/spec/initContainers', [sidecar]);
    else add('/spec/initContainers/0', sidecar);
  } else add('/spec/containers/0', sidecar);

  if (spec.volumes === undefined) add('/spec/volumes', volumes);
  else for (const v of volumes) add('/spec/volumes/-', v);

  if ((spec.terminationGracePeriodSeconds ?? 30) < options.template.terminationGracePeriodSeconds) {
    add('/spec/terminationGracePeriodSeconds', options.template.terminationGracePeriodSeconds);
  }

  const status: InjectionStatus = {
    version: options.version,
    mode: options.mode,
    ...(options.modeReason === undefined ? {} : { modeReason: options.modeReason }),
    image: sidecar.image,
    serviceName,
    config,
    ...(telemetryMode === undefined ? {} : { telemetryMode }),
    ...(semconvCompat === undefined ? {} : { semconvCompat }),
    env: envStatus,
    notes,
  };
  const newAnnotations: Record<string, string> = { [annotationStatus]: JSON.stringify(status) };
  if (options.mode === 'classic' && annotations[defaultContainerAnnotation] === undefined) {
    newAnnotations[defaultContainerAnnotation] = spec.containers[0]?.name ?? '';
  }
  if (pod.metadata === undefined) add('/metadata', { annotations: newAnnotations });
  else if (meta.annotations === undefined) add('/metadata/annotations', newAnnotations);
  else
    for (const [k, v] of Object.entries(newAnnotations)) add(`/metadata/annotations/${pointerToken(k)}`, v);

  return { inject: true, patch, status };
};
