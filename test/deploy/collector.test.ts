import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './kubectl.ts';

interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}
interface Values {
  mode: string;
  replicaCount: number;
  presets: { kubernetesAttributes: { enabled: boolean } };
  extraEnvs: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }>;
  config: {
    receivers: Record<string, unknown>;
    processors: Record<string, Record<string, unknown> | null>;
    exporters: Record<string, { endpoint?: string; headers?: Record<string, string> }>;
    service: { pipelines: Record<string, Pipeline | null> };
  };
}

// The upstream chart's values schema is not available offline; these checks cover what helm would
// reject (mode enum, dangling component names) plus the order rules k8s_attributes needs.
const values = parseYaml(readFileSync(join(repoRoot, 'deploy/collector/values.yaml'), 'utf8')) as Values;
const pipelines = Object.entries(values.config.service.pipelines).filter(
  (entry): entry is [string, Pipeline] => entry[1] !== null,
);

describe('collector values.yaml', () => {
  it('uses a valid chart mode, and one replica because cumulativetodelta is stateful', () => {
    expect(['deployment', 'daemonset', 'statefulset']).toContain(values.mode);
    expect(values.replicaCount).toBe(1);
    expect(values.presets.kubernetesAttributes.enabled).toBe(true);
  });

  it('has traces and metrics pipelines whose components are all defined', () => {
    expect(pipelines.map(([name]) => name).sort()).toEqual(['metrics', 'traces']);
    for (const [name, p] of pipelines) {
      for (const r of p.receivers) expect(values.config.receivers[r], `${name} receiver ${r}`).toBeTruthy();
      for (const x of p.processors)
        expect(values.config.processors[x], `${name} processor ${x}`).toBeTruthy();
      for (const e of p.exporters) expect(values.config.exporters[e], `${name} exporter ${e}`).toBeTruthy();
    }
  });

  it('orders processors: memory_limiter first, k8s_attributes before transform, batch last', () => {
    for (const [name, p] of pipelines) {
      const at = (x: string): number => p.processors.indexOf(x);
      expect(at('memory_limiter'), name).toBe(0);
      expect(at('k8s_attributes'), name).toBeGreaterThan(0);
      expect(at('transform/workload'), name).toBeGreaterThan(at('k8s_attributes'));
      expect(at('batch'), name).toBe(p.processors.length - 1);
    }
    const metrics = values.config.service.pipelines.metrics as Pipeline;
    expect(metrics.processors.indexOf('cumulativetodelta')).toBeGreaterThan(
      metrics.processors.indexOf('k8s_attributes'),
    );
    expect(metrics.processors.indexOf('cumulativetodelta')).toBeLessThan(metrics.processors.indexOf('batch'));
  });

  it('associates pods by k8s.pod.uid, then k8s.pod.ip, then the connection', () => {
    const k8s = values.config.processors.k8s_attributes as {
      pod_association: Array<{ sources: Array<{ from: string; name?: string }> }>;
      extract: { metadata: string[] };
    };
    expect(k8s.pod_association.map((a) => a.sources.map((s) => s.name ?? s.from).join('+'))).toEqual([
      'k8s.pod.uid',
      'k8s.pod.ip',
      'connection',
    ]);
    expect(k8s.extract.metadata).toEqual(
      expect.arrayContaining(['k8s.deployment.name', 'k8s.statefulset.name', 'k8s.cluster.uid']),
    );
  });

  it('repairs unknown_service names from the workload in the transform', () => {
    const transform = values.config.processors['transform/workload'] as {
      trace_statements: Array<{ context: string; statements: string[] }>;
      metric_statements: Array<{ context: string; statements: string[] }>;
    };
    expect(transform.metric_statements).toEqual(transform.trace_statements);
    const statements = transform.trace_statements.flatMap((s) => s.statements).join('\n');
    expect(statements).toContain('set(attributes["k8s.workload.name"], attributes["k8s.deployment.name"])');
    expect(statements).toMatch(/set\(attributes\["service\.name"\].*\^unknown_service/);
  });

  it('takes the vendor endpoint and token from a Secret, never literally', () => {
    const exporter = values.config.exporters['otlphttp/vendor'];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
    expect(exporter?.endpoint).toBe('${env:VENDOR_OTLP_ENDPOINT}');
    const headerValues = Object.values(exporter?.headers ?? {});
    // biome-ignore lint/suspicious/noTemplateCurlyInString: collector env substitution syntax, not JS
    expect(headerValues).toEqual(['${env:VENDOR_API_KEY}']);
    for (const name of ['VENDOR_OTLP_ENDPOINT', 'VENDOR_API_KEY']) {
      const env = values.extraEnvs.find((e) => e.name === name);
      expect(env?.value).toBeUndefined();
      expect(env?.valueFrom?.secretKeyRef?.name).toBe('vendor-otlp');
    }
  });

  it('receives OTLP/HTTP on 4318 only', () => {
    const otlp = values.config.receivers.otlp as { protocols: { grpc: null; http: { endpoint: string } } };
    expect(otlp.protocols.grpc).toBeNull();
    expect(otlp.protocols.http.endpoint).toMatch(/:4318$/);
  });
});
