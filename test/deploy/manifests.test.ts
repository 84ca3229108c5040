import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { builtinRoutes } from '../../src/config/builtin-routes.ts';
import { loadConfig } from '../../src/config/load.ts';
import { knownProviders } from '../../src/main.ts';
import { type K8sObject, kustomize, repoRoot } from './kubectl.ts';
import {
  assertNativeSidecar,
  assertSidecarContainer,
  type Container,
  envValue,
  type PodSpec,
} from './sidecar-assertions.ts';
import { unknownFields } from './strict-fields.ts';
import { validateObject } from './validate.ts';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

/** Every kustomization under deploy/ that renders on its own (Components are rendered through their users). */
const kustomizations = (): string[] => {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === 'kustomization.yaml') {
        const kind = (parseYaml(readFileSync(path, 'utf8')) as { kind?: string }).kind;
        if (kind !== 'Component') found.push(relative(repoRoot, dirname(path)));
      }
    }
  };
  walk(join(repoRoot, 'deploy'));
  return found.sort();
};

const podSpecOf = (docs: K8sObject[], name: string): PodSpec & { metadata: K8sObject['metadata'] } => {
  const d = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === name) as
    | { spec: { template: { metadata: K8sObject['metadata']; spec: PodSpec } } }
    | undefined;
  if (d === undefined) throw new Error(`Deployment ${name} not rendered`);
  return { ...d.spec.template.spec, metadata: d.spec.template.metadata };
};

const configOf = (docs: K8sObject[], spec: PodSpec, sidecar: Container) => {
  const mountPath = dirname(envValue(sidecar, 'LLMTAP_CONFIG') ?? '');
  const mount = sidecar.volumeMounts?.find((m) => m.mountPath === mountPath);
  const volume = spec.volumes?.find((v) => v.name === mount?.name) as
    | { configMap?: { name: string } }
    | undefined;
  const cm = docs.find((x) => x.kind === 'ConfigMap' && x.metadata.name === volume?.configMap?.name) as
    | { data: Record<string, string> }
    | undefined;
  expect(cm, 'the config volume must reference a rendered ConfigMap').toBeDefined();
  const key = (envValue(sidecar, 'LLMTAP_CONFIG') ?? '').slice(mountPath.length + 1);
  const text = cm?.data[key];
  expect(text, `ConfigMap key ${key}`).toBeTypeOf('string');
  // The same loader and provider list the binary uses: a config that would not start fails here.
  const file = join(mkdtempSync(join(tmpdir(), 'llmtap-config-')), 'config.yaml');
  writeFileSync(file, text ?? '');
  return loadConfig({ config: file }, {}, knownProviders);
};

describe('kustomize renders', () => {
  const dirs = kustomizations();

  it('finds the base, both overlays and the injector', () => {
    expect(dirs).toEqual(
      expect.arrayContaining([
        'deploy/base',
        'deploy/injector',
        'deploy/overlays/classic-sidecar',
        'deploy/overlays/self-hosted-model',
      ]),
    );
  });

  it.each(dirs)('%s: every document validates against the Kubernetes schemas', (dir) => {
    const docs = kustomize(dir);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(() => validateObject(doc), `${doc.kind}/${doc.metadata.name}`).not.toThrow();
      expect(unknownFields(doc), `${doc.kind}/${doc.metadata.name}: fields no schema declares`).toEqual([]);
    }
  });

  it('the example Secrets in deploy/ validate too, and hold no real-looking token', () => {
    const examples = [
      'deploy/components/llmtap-sidecar/otlp-secret.example.yaml',
      'deploy/collector/otlp-secret.example.yaml',
      'deploy/collector/dynatrace-secret.example.yaml',
    ];
    for (const path of examples) {
      const doc = parseYaml(readFileSync(join(repoRoot, path), 'utf8')) as K8sObject & {
        stringData: Record<string, string>;
      };
      expect(() => validateObject(doc), path).not.toThrow();
      expect(unknownFields(doc), path).toEqual([]);
      expect(Object.values(doc.stringData).join(' '), path).toMatch(/replace-me/);
    }
  });

  it('the unknown-field check catches typos the schema validation lets through', () => {
    const deployment = structuredClone(
      kustomize('deploy/base').find((d) => d.kind === 'Deployment'),
    ) as unknown as {
      metadata: Record<string, unknown>;
      spec: { template: { spec: { initContainers: Array<Record<string, Record<string, unknown>>> } } };
    };
    const sidecar = deployment.spec.template.spec.initContainers[0];
    if (sidecar?.startupProbe === undefined || sidecar.securityContext === undefined)
      throw new Error('no sidecar');
    sidecar.startupProbe.periodSecond = 1;
    sidecar.securityContext.readOnlyRootFilesytem = true;
    deployment.metadata.lables = {};
    expect(() => validateObject(deployment as never)).not.toThrow();
    expect(unknownFields(deployment as never).sort()).toEqual([
      'metadata.lables',
      'spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesytem',
      'spec.template.spec.initContainers[0].startupProbe.periodSecond',
    ]);
  });
});

describe('base: example app with llmtap as a native sidecar', () => {
  const docs = kustomize('deploy/base');
  const spec = podSpecOf(docs, 'chat-app');

  it('runs llmtap as a native sidecar with probes, security context, Downward API and podinfo', () => {
    const sidecar = assertNativeSidecar(spec);
    expect(sidecar.image).toBe(`ghcr.io/llmtap/llmtap:${version}`);
  });

  it('mounts a config the binary accepts, listening on loopback with the probed admin port', () => {
    const sidecar = assertNativeSidecar(spec);
    const config = configOf(docs, spec, sidecar);
    expect(config.listen).toBe('127.0.0.1:4545');
    expect(config.admin.endsWith(':4546')).toBe(true);
  });

  it('changes the app only by pointing the SDK base URLs at built-in llmtap routes', () => {
    const app = spec.containers.find((c) => c.name === 'chat-app') as Container;
    const prefixes = new Set(builtinRoutes.map((r) => r.prefix));
    const baseUrls = (app.env ?? []).filter((e) => e.name.endsWith('_BASE_URL'));
    expect(baseUrls.map((e) => e.name).sort()).toEqual(['ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL']);
    for (const e of baseUrls) {
      const url = new URL(e.value ?? '');
      expect(url.origin).toBe('http://127.0.0.1:4545');
      expect(prefixes.has(`/${url.pathname.split('/')[1]}`), e.name).toBe(true);
    }
    expect(envValue(app, 'OPENAI_BASE_URL')).toBe('http://127.0.0.1:4545/openai/v1');
  });

  it('the sidecar checks fail when the base loses restartPolicy: Always, the startup probe or the young-generation bound', () => {
    // A fresh copy of the rendered spec, and its llmtap init container, for each breakage.
    const broken = (): [PodSpec, Container] => {
      const copy: PodSpec = structuredClone(spec);
      const sidecar = copy.initContainers?.find((c) => c.name === 'llmtap');
      if (sidecar === undefined) throw new Error('llmtap init container missing');
      return [copy, sidecar];
    };
    const [noRestart, a] = broken();
    delete a.restartPolicy;
    expect(() => assertNativeSidecar(noRestart)).toThrow(/restartPolicy/);
    const [noStartup, b] = broken();
    delete b.startupProbe;
    expect(() => assertNativeSidecar(noStartup)).toThrow(/startupProbe/);
    const [noFieldRef, c] = broken();
    c.env = (c.env ?? []).filter((e) => e.name !== 'K8S_POD_UID');
    expect(() => assertNativeSidecar(noFieldRef)).toThrow(/K8S_POD_UID/);
    const [writable, d] = broken();
    d.securityContext = { ...d.securityContext, readOnlyRootFilesystem: false };
    expect(() => assertNativeSidecar(writable)).toThrow();
    const [unboundedYoung, e] = broken();
    e.env = (e.env ?? []).map((v) =>
      v.name === 'NODE_OPTIONS'
        ? { ...v, value: (v.value ?? '').replace(/--max-semi-space-size=\d+/, '') }
        : v,
    );
    expect(() => assertNativeSidecar(unboundedYoung)).toThrow(/max-semi-space-size/);
  });
});

describe('classic-sidecar overlay (Kubernetes < 1.29)', () => {
  const docs = kustomize('deploy/overlays/classic-sidecar');
  const spec = podSpecOf(docs, 'chat-app');

  it('moves llmtap into containers, without restartPolicy, with a preStop pause', () => {
    expect(spec.initContainers?.some((c) => c.name === 'llmtap') ?? false).toBe(false);
    const sidecar = spec.containers.find((c) => c.name === 'llmtap') as Container;
    expect(sidecar.restartPolicy).toBeUndefined();
    expect(sidecar.lifecycle).toMatchObject({ preStop: { exec: { command: expect.any(Array) } } });
    assertSidecarContainer(sidecar, spec);
    configOf(docs, spec, sidecar);
  });

  it('keeps kubectl logs/exec defaulting to the app container', () => {
    const annotations = (spec.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    const target = annotations['kubectl.kubernetes.io/default-container'];
    expect(spec.containers.some((c) => c.name === target && c.name !== 'llmtap')).toBe(true);
  });
});

describe('self-hosted-model overlay', () => {
  const docs = kustomize('deploy/overlays/self-hosted-model');
  const spec = podSpecOf(docs, 'chat-app');

  it('routes to in-cluster Services and points the app at those routes', () => {
    const sidecar = assertNativeSidecar(spec);
    const config = configOf(docs, spec, sidecar);
    const builtin = new Set(builtinRoutes.map((r) => r.prefix));
    const own = config.routes.filter((r) => !builtin.has(r.prefix));
    expect(own.map((r) => r.prefix).sort()).toEqual(['/ollama', '/vllm']);
    for (const route of own) expect(new URL(route.upstream).hostname).toMatch(/\.svc\.cluster\.local$/);
    const app = spec.containers.find((c) => c.name === 'chat-app') as Container;
    const openai = new URL(envValue(app, 'OPENAI_BASE_URL') ?? '');
    expect(config.routes.some((r) => openai.pathname.startsWith(`${r.prefix}/`))).toBe(true);
    expect(config.routes.find((r) => openai.pathname.startsWith(`${r.prefix}/`))?.provider).toBe(
      'openai-compatible',
    );
  });
});

describe('the sidecar component on an app of your own', () => {
  /** Renders a throwaway kustomization: one Deployment with `grace` (or none) plus the component. */
  const withComponent = (grace: number | undefined): PodSpec => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-component-'));
    const app = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'slow-stopper' },
      spec: {
        selector: { matchLabels: { app: 'slow-stopper' } },
        template: {
          metadata: { labels: { app: 'slow-stopper' } },
          spec: {
            ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }),
            containers: [{ name: 'app', image: 'example/app:1' }],
          },
        },
      },
    };
    writeFileSync(join(dir, 'app.yaml'), JSON.stringify(app));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['app.yaml'],
        components: [relative(dir, join(repoRoot, 'deploy/components/llmtap-sidecar'))],
      }),
    );
    return podSpecOf(kustomize(dir), 'slow-stopper');
  };

  it("never changes the app's own grace period, and llmtap fits in the default one", () => {
    expect(withComponent(120).terminationGracePeriodSeconds).toBe(120);
    expect(withComponent(10).terminationGracePeriodSeconds).toBe(10);
    const spec = withComponent(undefined);
    expect(spec.terminationGracePeriodSeconds).toBeUndefined();
    // assertSidecarContainer checks that the default 30 s covers the drain plus the flush.
    assertSidecarContainer(assertNativeSidecar(spec), spec);
  });

  it('has a readiness probe that one slow answer on a busy node cannot flap', () => {
    const sidecar = assertNativeSidecar(withComponent(undefined));
    const probe = sidecar.readinessProbe as {
      periodSeconds: number;
      timeoutSeconds: number;
      failureThreshold: number;
    };
    expect(probe.timeoutSeconds).toBeGreaterThanOrEqual(5);
    // At least half a minute of unanswered probes before the app pod leaves its Service.
    expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThanOrEqual(30);
  });
});
