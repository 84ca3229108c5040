/**
 * `llmtap.io/mode` and `llmtap.io/app-instrumentation`: the injector sets the sidecar's `LLMTAP_MODE` from them,
 * and a bad value is logged (in the review's log fields and the status annotation) and ignored — the pod is still
 * admitted with llmtap, in its default mode. The sidecar then validates the value it is given at start-up.
 */
import { join } from 'node:path';
import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { adapterIds } from '../../providers/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { injectorUsage } from '../../src/injector/flags.ts';
import { handleReview } from '../../src/injector/handler.ts';
import { decide, type InjectionStatus, type InjectOptions } from '../../src/injector/mutate.ts';
import { podSchema } from '../../src/injector/pod.ts';
import { loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { repoRoot } from '../deploy/kubectl.ts';
import { type Json, review } from './fixtures.ts';

const options: InjectOptions = {
  template: loadTemplate(join(repoRoot, templateRelativePath)),
  mode: 'native',
  proxyUrl: 'http://127.0.0.1:4545',
  excludedNamespaces: new Set(['kube-system']),
  version: '0.1.0',
};

type Env = Array<{ name: string; value?: string }>;
type Patched = { spec: { initContainers: Array<{ name: string; env: Env }> } };

const podWith = (annotations: Record<string, string>): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'chatbot', namespace: 'shop', annotations },
  spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] },
});

const injected = (annotations: Record<string, string>) => {
  const pod = podWith(annotations);
  const decision = decide(podSchema.parse(pod), 'shop', options);
  if (!decision.inject) throw new Error(`not injected: ${decision.reason}`);
  const patched = jsonPatch.applyPatch(
    structuredClone(pod),
    decision.patch as jsonPatch.Operation[],
    true,
    false,
  ).newDocument as unknown as Patched;
  const sidecar = patched.spec.initContainers.find((c) => c.name === 'llmtap');
  const modeVars = (sidecar?.env ?? []).filter((e) => e.name === 'LLMTAP_MODE');
  const compatVars = (sidecar?.env ?? []).filter((e) => e.name === 'LLMTAP_SEMCONV_COMPAT');
  expect(modeVars.length).toBeLessThanOrEqual(1);
  expect(compatVars.length).toBeLessThanOrEqual(1);
  return { status: decision.status, llmtapMode: modeVars[0]?.value, compat: compatVars[0]?.value };
};

describe('telemetry mode annotations', () => {
  it.each([
    [{ 'llmtap.io/app-instrumentation': 'openllmetry-js' }, 'metrics'],
    [{ 'llmtap.io/app-instrumentation': 'openllmetry-python' }, 'off'],
    [{ 'llmtap.io/app-instrumentation': 'none' }, 'full'],
    [{ 'llmtap.io/app-instrumentation': ' OpenLLMetry-JS ' }, 'metrics'],
    [{ 'llmtap.io/mode': 'spans' }, 'spans'],
    [{ 'llmtap.io/mode': 'off' }, 'off'],
  ])('%o sets LLMTAP_MODE=%s on the sidecar', (annotations, mode) => {
    const { status, llmtapMode } = injected(annotations);
    expect(llmtapMode).toBe(mode);
    expect(status.telemetryMode).toBe(mode);
    expect(status.notes).toEqual([]);
    // The value the sidecar receives is one its config loader accepts.
    expect(loadConfig({}, { LLMTAP_MODE: llmtapMode }, adapterIds).mode).toBe(mode);
  });

  it('sets nothing without either annotation: llmtap runs in its default, full', () => {
    const { status, llmtapMode } = injected({});
    expect(llmtapMode).toBeUndefined();
    expect(status).not.toHaveProperty('telemetryMode');
  });

  it('llmtap.io/mode wins over llmtap.io/app-instrumentation, and says so', () => {
    const { status, llmtapMode } = injected({
      'llmtap.io/app-instrumentation': 'openllmetry-js',
      'llmtap.io/mode': 'full',
    });
    expect(llmtapMode).toBe('full');
    expect(status.notes).toEqual([
      'llmtap.io/mode=full overrides the metrics that llmtap.io/app-instrumentation picks',
    ]);
  });

  it('a bad value is noted and ignored, listing the allowed values; the other annotation still applies', () => {
    let result = injected({ 'llmtap.io/mode': 'passive' });
    expect(result.llmtapMode).toBeUndefined();
    expect(result.status.notes).toEqual([
      'llmtap.io/mode: unknown mode "passive" ignored (allowed: full, metrics, spans, off)',
    ]);
    result = injected({ 'llmtap.io/app-instrumentation': 'langchain', 'llmtap.io/mode': 'metrics' });
    expect(result.llmtapMode).toBe('metrics');
    expect(result.status.notes).toEqual([
      'llmtap.io/app-instrumentation: unknown value "langchain" ignored (allowed: openllmetry-js, openllmetry-python, none)',
    ]);
    result = injected({ 'llmtap.io/app-instrumentation': 'openllmetry-js', 'llmtap.io/mode': 'everything' });
    expect(result.llmtapMode).toBe('metrics');
    expect(result.status.notes).toHaveLength(1);
  });

  it('llmtap.io/semconv-compat sets LLMTAP_SEMCONV_COMPAT; a bad value is noted and ignored', () => {
    for (const value of ['off', 'openllmetry', 'openllmetry-content']) {
      const { compat, status } = injected({ 'llmtap.io/semconv-compat': value });
      expect(compat).toBe(value);
      expect(status.semconvCompat).toBe(value);
      expect(loadConfig({}, { LLMTAP_SEMCONV_COMPAT: compat }, adapterIds).semconvCompat).toBe(value);
    }
    const bad = injected({ 'llmtap.io/semconv-compat': 'traceloop' });
    expect(bad.compat).toBeUndefined();
    expect(bad.status.notes).toEqual([
      'llmtap.io/semconv-compat: unknown value "traceloop" ignored (allowed: off, openllmetry, openllmetry-content)',
    ]);
    expect(injected({}).compat).toBeUndefined();
  });

  it('the webhook admits the pod with llmtap and logs the ignored annotation', () => {
    const body = Buffer.from(JSON.stringify(review(podWith({ 'llmtap.io/mode': 'metric' }))));
    const handled = handleReview(body, options);
    expect(handled.body.response.allowed).toBe(true);
    expect(handled.body.response.patch).toBeDefined();
    expect(handled.fields.decision).toBe('injected');
    expect(handled.fields.notes).toEqual([
      'llmtap.io/mode: unknown mode "metric" ignored (allowed: full, metrics, spans, off)',
    ]);
    const status = JSON.parse(
      (
        JSON.parse(Buffer.from(handled.body.response.patch ?? '', 'base64').toString()) as Array<{
          path: string;
          value: Record<string, string>;
        }>
      ).find((op) => op.path === '/metadata/annotations/llmtap.io~1status')?.value as unknown as string,
    ) as InjectionStatus;
    expect(status.notes).toHaveLength(1);
  });

  it('the injector help documents both annotations and every value', () => {
    for (const word of [
      'llmtap.io/mode',
      'llmtap.io/app-instrumentation',
      'llmtap.io/semconv-compat',
      'openllmetry-content',
      'openllmetry-js',
      'openllmetry-python',
      'full',
      'metrics',
      'spans',
      'off',
    ]) {
      expect(injectorUsage, word).toContain(word);
    }
  });
});
