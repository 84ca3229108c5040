/**
 * The guide backend's published AI-observability contract (sdk-comparison-baseline.json, vendored in
 * ../shared/vendor/ai-observability-contract), generic profile, checked against what llmtap really exports for
 * recorded OpenAI, Anthropic, Gemini and Bedrock calls: every required span attribute (with the contract's own
 * any-of equivalents), every listed metric, and each metric's dimensions on the call's data points.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendReplay, backendCalls, fixture, startBackendReplay } from '../helpers/backend-replay.ts';
import { type FakeOtlpBackend, startFakeOtlpBackend } from '../helpers/fake-otlp-backend.ts';
import type { ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { sharedVendor } from '../helpers/shared-dir.ts';

interface Rule {
  readonly name: string;
  readonly rule_id: string;
  readonly type?: string;
  readonly dimensions?: readonly string[];
}
interface Baseline {
  readonly version: string;
  readonly attributes: readonly Rule[];
  readonly comparison_contract: {
    readonly profile_selection: {
      readonly profiles: Record<
        string,
        { readonly required_attributes: readonly string[]; readonly metrics: readonly string[] }
      >;
    };
    readonly pass_fail_rules: { readonly must_have_any: string[][]; readonly must_have_all: string[] };
    readonly normalization: { readonly equivalents_any_of: string[][] };
  };
}

const contract = sharedVendor('ai-observability-contract/sdk-comparison-baseline.json');
const baseline =
  contract.path === undefined ? undefined : (JSON.parse(readFileSync(contract.path, 'utf8')) as Baseline);

/** The generic profile as lists of "one of these names" requirements, plus metrics with their dimensions. */
const genericProfile = (
  b: Baseline,
): { attributes: string[][]; metrics: Array<{ name: string; dimensions: readonly string[] }> } => {
  const byId = new Map(b.attributes.map((r) => [r.rule_id, r]));
  const equivalents = b.comparison_contract.normalization.equivalents_any_of;
  const generic = b.comparison_contract.profile_selection.profiles.generic;
  if (generic === undefined) throw new Error('baseline has no generic profile');
  const attributes = generic.required_attributes.map((entry) => {
    const names = entry.split('_or_').map((id) => {
      const rule = byId.get(id);
      if (rule === undefined) throw new Error(`baseline: unknown rule ${id}`);
      return rule.name;
    });
    // The contract's own equivalents (legacy fallbacks) satisfy a requirement too.
    return [...new Set(names.flatMap((n) => equivalents.find((group) => group.includes(n)) ?? [n]))];
  });
  const metrics = generic.metrics.map((id) => {
    const rule = byId.get(id);
    if (rule === undefined) throw new Error(`baseline: unknown rule ${id}`);
    return { name: rule.name, dimensions: rule.dimensions ?? [] };
  });
  return { attributes, metrics };
};

describe.skipIf(baseline === undefined)(
  `the guide backend's AI-observability contract, generic profile${baseline === undefined ? ` (${contract.reason})` : ''}`,
  () => {
    const profile = baseline === undefined ? { attributes: [], metrics: [] } : genericProfile(baseline);
    let replay: BackendReplay;
    let backend: FakeOtlpBackend;
    const converse = 'bedrock/converse_stream_claude.json';
    beforeAll(async () => {
      replay = await startBackendReplay();
      backend = await startFakeOtlpBackend('dt0c01.CONTRACT.0123456789');
      const app = await replay.start(backend);
      try {
        for (const call of backendCalls) await replay.call(app, call.file, call.prefix);
        await replay.call(app, converse, '/bedrock');
      } finally {
        await app.shutdown();
      }
    }, 30_000);
    afterAll(async () => {
      await backend.close();
      await replay.close();
    });

    it('reads the requirements the app documents (sanity of the parse)', () => {
      expect(profile.attributes).toContainEqual(['gen_ai.provider.name', 'gen_ai.system']);
      expect(profile.attributes).toContainEqual(['service.name']);
      expect(profile.attributes).toContainEqual(['gen_ai.response.model']);
      expect(profile.attributes.length).toBe(6);
      expect(profile.metrics.map((m) => m.name).sort()).toEqual([
        'gen_ai.client.operation.duration',
        'gen_ai.client.token.usage',
      ]);
      // The contract's own pass/fail lists agree with the profile.
      const rules = baseline?.comparison_contract.pass_fail_rules;
      for (const name of rules?.must_have_all ?? []) {
        expect(
          profile.attributes.some((group) => group.includes(name)),
          name,
        ).toBe(true);
      }
    });

    const spanOf = (provider: string, model: string | undefined): ReceivedSpan => {
      const span = backend.spans.find(
        (s) =>
          s.attributes['gen_ai.provider.name'] === provider &&
          (model === undefined || s.attributes['gen_ai.request.model'] === model),
      );
      if (span === undefined) throw new Error(`no span for ${provider} ${model ?? ''}`);
      return span;
    };
    const missing = (span: ReceivedSpan, skip: readonly string[] = []): string[] =>
      profile.attributes
        .filter((group) => !group.some((name) => skip.includes(name)))
        .filter(
          (group) => !group.some((name) => (span.attributes[name] ?? span.resource[name]) !== undefined),
        )
        .map((group) => group.join(' | '));

    it.each(backendCalls.map((c) => [c.file, c.provider]))(
      '%s: every required span attribute and every metric with its dimensions',
      (file, provider) => {
        const span = spanOf(provider, fixture(file).expected.request_model as string);
        expect(missing(span), `${file}: required attributes missing`).toEqual([]);
        const requestModel = span.attributes['gen_ai.request.model'];
        for (const metric of profile.metrics) {
          const points = backend.metrics
            .filter((m) => m.name === metric.name)
            .flatMap((m) => m.points)
            .filter(
              (p) =>
                p.attributes['gen_ai.provider.name'] === provider &&
                p.attributes['gen_ai.request.model'] === requestModel,
            );
          expect(points.length, `${file}: ${metric.name}`).toBeGreaterThan(0);
          for (const point of points) {
            for (const dimension of metric.dimensions) {
              expect(
                point.attributes[dimension],
                `${file}: ${metric.name} dimension ${dimension}`,
              ).toBeDefined();
            }
          }
          if (metric.dimensions.includes('gen_ai.token.type')) {
            const types = new Set(points.map((p) => p.attributes['gen_ai.token.type']));
            expect([...types].sort(), `${file}: token types`).toEqual(['input', 'output']);
          }
        }
        expect(backend.rejectedPoints()).toBe(0);
      },
    );

    it('Bedrock Converse: everything but gen_ai.response.model, which the Converse response does not carry', () => {
      // Known gap, reported to the lead: Converse answers name no model, and llmtap does not invent one
      // (the request's model id is in the URL). When the adapter reports it, this becomes the full check.
      const span = spanOf('aws.bedrock', 'us.amazon.nova-micro-v1:0');
      expect(missing(span, ['gen_ai.response.model'])).toEqual([]);
      expect(span.attributes['gen_ai.response.model']).toBeUndefined();
    });
  },
);
