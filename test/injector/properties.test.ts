/**
 * Properties of decide() over generated pods: the patch always applies under strict RFC 6902 rules, the
 * result is a valid Pod, nothing the app set changes, and a second review returns nothing to do.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import jsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { decide, type InjectOptions } from '../../src/injector/mutate.ts';
import { podSchema } from '../../src/injector/pod.ts';
import { loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { repoRoot } from '../deploy/kubectl.ts';
import { unknownFields } from '../deploy/strict-fields.ts';

const template = loadTemplate(join(repoRoot, templateRelativePath));

const envName = fc.constantFrom(
  'OPENAI_BASE_URL',
  'ANTHROPIC_BASE_URL',
  'GOOGLE_GEMINI_BASE_URL',
  'AZURE_OPENAI_ENDPOINT',
  'OPENAI_API_VERSION',
  'LOG_LEVEL',
  'PORT',
);
const envVar = fc.record({ name: envName, value: fc.string({ maxLength: 20 }) });
const container = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      image: fc.constant('example/app:1'),
      env: fc.uniqueArray(envVar, { selector: (e) => e.name, maxLength: 5 }),
      envFrom: fc.constant([{ configMapRef: { name: 'settings' } }]),
      ports: fc.constant([{ containerPort: 8080 }]),
    },
    { requiredKeys: ['name', 'image'] },
  );
const dnsLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const pod = fc.record(
  {
    metadata: fc.record(
      {
        generateName: fc.constant('web-5f7c9-'),
        labels: fc.dictionary(
          fc.constantFrom(
            'app.kubernetes.io/name',
            'app.kubernetes.io/instance',
            'pod-template-hash',
            'tier',
          ),
          dnsLabel,
          { maxKeys: 3 },
        ),
        annotations: fc.dictionary(
          fc.constantFrom(
            'llmtap.io/config',
            'llmtap.io/providers',
            'llmtap.io/memory-limit',
            'team/a~b',
            'note',
          ),
          fc.oneof(dnsLabel, fc.constantFrom('openai,gemini', 'none', '256Mi', 'bad value', '')),
          { maxKeys: 4 },
        ),
        ownerReferences: fc.constant([
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5f7c9', uid: 'u', controller: true },
        ]),
      },
      { requiredKeys: ['generateName'] },
    ),
    spec: fc.record(
      {
        containers: fc
          .integer({ min: 1, max: 3 })
          .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => container(`app-${i}`)))),
        initContainers: fc.array(fc.constant({ name: 'setup', image: 'busybox:1' }), { maxLength: 1 }),
        volumes: fc.array(fc.constant({ name: 'data', emptyDir: {} }), { maxLength: 1 }),
        terminationGracePeriodSeconds: fc.integer({ min: 0, max: 600 }),
      },
      { requiredKeys: ['containers'] },
    ),
  },
  { requiredKeys: ['metadata', 'spec'] },
);

const options = (mode: 'native' | 'classic'): InjectOptions => ({
  template,
  mode,
  proxyUrl: 'http://127.0.0.1:4545',
  excludedNamespaces: new Set(),
  version: '0.1.0',
});

type AnyPod = {
  spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> };
};

describe('decide() properties', () => {
  it.each(['native', 'classic'] as const)(
    '%s: applies, validates, keeps user env, and is idempotent',
    (mode) => {
      fc.assert(
        fc.property(pod, (input) => {
          const decision = decide(podSchema.parse(input), 'shop', options(mode));
          expect(decision.inject).toBe(true);
          if (!decision.inject) return;
          const patched = jsonPatch.applyPatch(
            structuredClone(input),
            decision.patch as jsonPatch.Operation[],
            true,
            false,
          ).newDocument as AnyPod;
          const asPod = { apiVersion: 'v1', kind: 'Pod', ...patched };
          new Pod(asPod as never).validate();
          expect(unknownFields(asPod)).toEqual([]);
          for (const original of (input as AnyPod).spec.containers) {
            const after = patched.spec.containers.find((c) => c.name === original.name);
            // Every env var the app set is still there, with its value, in its place.
            expect(after?.env?.slice(0, original.env?.length ?? 0)).toEqual(
              original.env ?? (after?.env === undefined ? undefined : []),
            );
            const names = (after?.env ?? []).map((e) => e.name);
            expect(new Set(names).size).toBe(names.length);
          }
          expect(decide(podSchema.parse(patched), 'shop', options(mode))).toEqual({
            inject: false,
            reason: 'already-injected',
          });
        }),
        { numRuns: 150, seed: 20_261_127 },
      );
    },
  );
});
