import { describe, expect, it } from 'vitest';
import { parseKeyValueList, readSettings } from '../../src/telemetry/env.ts';
import { TelemetryConfigError } from '../../src/telemetry/errors.ts';
import { parseDownwardApiFile } from '../../src/telemetry/podinfo.ts';
import { podIdentity } from '../../src/telemetry/resource.ts';

describe('Downward-API file format', () => {
  it('reads key="value" lines with Go escapes (synthesised sample in the kubelet format)', () => {
    const text = [
      'app.kubernetes.io/name="checkout"',
      'quote="say \\"hi\\""',
      'backslash="C:\\\\tmp"',
      'newline="a\\nb"',
      'utf8-bytes="\\xc3\\xa9"',
      'unicode="\\u00e9\\U0001F600"',
      'octal="\\101"',
      'empty=""',
      '',
      'not a pair',
      'unquoted=value',
      'bad-escape="\\q"',
    ].join('\n');
    expect(parseDownwardApiFile(text)).toEqual({
      'app.kubernetes.io/name': 'checkout',
      quote: 'say "hi"',
      backslash: 'C:\\tmp',
      newline: 'a\nb',
      'utf8-bytes': 'é',
      unicode: 'é😀',
      octal: 'A',
      empty: '',
    });
  });
});

const k8s = (podName?: string) => ({
  podName,
  namespaceName: 'ns',
  podUid: undefined,
  nodeName: undefined,
  podIp: undefined,
});

describe('pod identity', () => {
  const identity = (
    podName: string | undefined,
    labels: Record<string, string>,
    annotations: Record<string, string> = {},
    extra: { serviceName?: string; resourceAttributes?: Record<string, string> } = {},
  ) =>
    podIdentity(
      {
        serviceName: extra.serviceName,
        resourceAttributes: extra.resourceAttributes ?? {},
        k8s: k8s(podName),
      },
      { labels, annotations },
      'host-1',
    );

  it('follows the semconv service.name order', () => {
    const labels = {
      'app.kubernetes.io/instance': 'inst',
      'app.kubernetes.io/name': 'name',
      'pod-template-hash': 'abc12',
    };
    const annotations = { 'resource.opentelemetry.io/service.name': 'annotated' };
    const pod = 'deploy-abc12-zzzzz';
    expect(identity(pod, labels, annotations, { serviceName: 'env' })['service.name']).toBe('env');
    expect(identity(pod, labels, annotations)['service.name']).toBe('annotated');
    expect(identity(pod, labels)['service.name']).toBe('inst');
    expect(identity(pod, { ...labels, 'app.kubernetes.io/instance': '' })['service.name']).toBe('name');
    expect(identity(pod, { 'pod-template-hash': 'abc12' })['service.name']).toBe('deploy');
    expect(identity('lonely-pod', {})['service.name']).toBe('lonely-pod');
    expect(identity(undefined, {})['service.name']).toBe('host-1');
  });

  it('derives deployment and replicaset only when the hash is really in the pod name', () => {
    expect(identity('api-7d9f8c6b5-x2k9q', { 'pod-template-hash': '7d9f8c6b5' })).toMatchObject({
      'k8s.deployment.name': 'api',
      'k8s.replicaset.name': 'api-7d9f8c6b5',
    });
    // A long Deployment name gets its pod name truncated by the API server: nothing is guessed then.
    const truncated = identity('a-very-long-deployment-name-that-was-cut-7d9f8c6-x2k9q', {
      'pod-template-hash': '7d9f8c6b5',
    });
    expect(truncated).not.toHaveProperty('k8s.deployment.name');
    expect(identity('api-x2k9q', {})).not.toHaveProperty('k8s.deployment.name');
  });

  it('derives StatefulSet and Job names from their standard labels', () => {
    expect(
      identity('db-2', { 'apps.kubernetes.io/pod-index': '2', 'statefulset.kubernetes.io/pod-name': 'db-2' }),
    ).toMatchObject({ 'k8s.statefulset.name': 'db', 'service.name': 'db' });
    expect(identity('migrate-8x7zq', { 'batch.kubernetes.io/job-name': 'migrate' })).toMatchObject({
      'k8s.job.name': 'migrate',
      'service.name': 'migrate',
    });
  });

  it('exports labels but only resource.opentelemetry.io/* annotations', () => {
    const attrs = identity(
      'p',
      { team: 'a' },
      { 'resource.opentelemetry.io/team.owner': 'x', 'secret-ish': 'sk-1' },
    );
    expect(attrs['k8s.pod.label.team']).toBe('a');
    expect(attrs['team.owner']).toBe('x');
    expect(JSON.stringify(attrs)).not.toContain('sk-1');
  });
});

describe('telemetry settings from the environment', () => {
  it('appends the signal path to the generic endpoint and uses signal endpoints as they are', () => {
    const settings = readSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4318/base',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example/custom',
    });
    expect(settings.traces?.url).toBe('https://otel.example:4318/base/v1/traces');
    expect(settings.metrics?.url).toBe('https://metrics.example/custom');
  });

  it('defaults: delta, 60 s, parentbased_always_on, content off, nothing exported without an endpoint', () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      traces: undefined,
      metrics: undefined,
      temporality: 'delta',
      metricIntervalMs: 60_000,
      sampler: 'parentbased_always_on',
      captureContent: false,
      podinfoDir: '/etc/podinfo',
    });
  });

  it('merges generic and signal headers (signal wins), percent-decoded', () => {
    const settings = readSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Api-Token%20abc,x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2500',
    });
    expect(settings.traces).toEqual({
      url: 'http://127.0.0.1:4318/v1/traces',
      headers: { Authorization: 'Api-Token abc', 'x-tenant': 'b' },
      compression: 'gzip',
      timeoutMs: 2500,
    });
    expect(settings.metrics?.headers).toEqual({ Authorization: 'Api-Token abc', 'x-tenant': 'a' });
    expect(settings.metrics?.timeoutMs).toBe(10_000);
  });

  it('honours OTEL_*_EXPORTER=none and OTEL_SDK_DISABLED', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(readSettings({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).traces).toBeUndefined();
    const disabled = readSettings({ ...endpoint, OTEL_SDK_DISABLED: 'true' });
    expect(disabled.disabled).toBe(true);
    expect(disabled.metrics).toBeUndefined();
  });

  it('warns (does not fail) on an OTLP protocol other than http/protobuf', () => {
    const settings = readSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(settings.warnings).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: llmtap exports http/protobuf only; using it',
    ]);
    expect(settings.traces?.url).toBe('http://127.0.0.1:4318/v1/traces');
  });

  it.each([
    ['OTEL_METRIC_EXPORT_INTERVAL', 'soon'],
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER_ARG', '2'],
    ['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', 'yes please'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://collector'],
  ])('rejects %s=%s with a typed error naming it', (name, value) => {
    let error: unknown;
    try {
      readSettings({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect((error as Error).message).toContain(name);
  });

  it('never echoes a malformed headers variable (it may hold a token)', () => {
    expect(() =>
      parseKeyValueList('Authorization Api-Token secret-123', 'OTEL_EXPORTER_OTLP_HEADERS', true),
    ).toThrow(/^OTEL_EXPORTER_OTLP_HEADERS is invalid/);
    try {
      parseKeyValueList('Authorization Api-Token secret-123', 'OTEL_EXPORTER_OTLP_HEADERS', true);
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-123');
    }
  });
});
