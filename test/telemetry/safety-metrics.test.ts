/**
 * Safety counters and span attributes from hand-built records (the replay of recorded exchanges is in
 * safety-replay.test.ts): the cross-provider block counter, bounded attribute values with the overflow
 * counted, and span attributes for a blocked call.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SafetyFacts } from '../../src/record.ts';
import { createTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import { MAX_VALUES_PER_ATTRIBUTE, safetySpanAttributes, ValueLimiter } from '../../src/telemetry/safety.ts';
import { type OtlpReceiver, type ReceivedMetric, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { chatCall, contextFor, memoryLogger } from './calls.ts';

let receiver: OtlpReceiver;
let telemetry: Telemetry | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  await receiver.close();
});

const start = async (): Promise<Telemetry> => {
  telemetry = await createTelemetry({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LLMTAP_PODINFO_DIR: '/nonexistent' },
    logger: memoryLogger(),
    version: '1.2.3',
  });
  return telemetry;
};

const metric = (name: string): ReceivedMetric => {
  const found = receiver.metrics.find((m) => m.name === name);
  if (found === undefined) throw new Error(`metric ${name} not exported`);
  return found;
};

const withSafety = (safety: SafetyFacts) =>
  chatCall({ response: { ...chatCall().response, finishReasons: ['content_filter'], safety } });

describe('safety telemetry', () => {
  it('counts blocks by reason and stage, and puts the block on the span', async () => {
    const t = await start();
    t.start(contextFor()).finish(withSafety({ block: { reason: 'refusal', stage: 'output' } }));
    t.start(contextFor()).finish(withSafety({ block: { reason: 'refusal', stage: 'output' } }));
    t.start(contextFor()).finish(
      withSafety({ block: { reason: 'content_filter', stage: 'input' }, categories: ['hate'] }),
    );
    t.start(contextFor()).finish(chatCall());
    await t.shutdown();
    const blocks = metric('llmtap.safety.blocks');
    expect(blocks).toMatchObject({ type: 'sum', unit: '{call}', monotonic: true });
    const values = blocks.points.map((p) => [
      p.attributes['llmtap.safety.reason'],
      p.attributes['llmtap.safety.stage'],
      p.value,
    ]);
    expect(values.sort()).toEqual([
      ['content_filter', 'input', 1],
      ['refusal', 'output', 2],
    ]);
    expect(blocks.points[0]?.attributes['gen_ai.provider.name']).toBe('openai');
    const blocked = receiver.spans.filter((s) => s.attributes['llmtap.safety.blocked'] === true);
    expect(blocked).toHaveLength(3);
    const filtered = blocked.find((s) => s.attributes['llmtap.safety.reason'] === 'content_filter');
    expect(filtered?.attributes['llmtap.safety.stage']).toBe('input');
    expect(filtered?.attributes['llmtap.safety.categories']).toEqual(['hate']);
    expect(receiver.spans.filter((s) => !('llmtap.safety.blocked' in s.attributes))).toHaveLength(1);
  });

  it('limits the values a counter attribute takes from traffic, counting the overflow', async () => {
    const t = await start();
    const categories = MAX_VALUES_PER_ATTRIBUTE + 10;
    for (let i = 0; i < categories; i++) {
      t.start(contextFor()).finish(
        withSafety({ completionFilterResults: { [`invented_${i}`]: { filtered: false, severity: 'safe' } } }),
      );
    }
    await t.shutdown();
    const actions = metric('llmtap.content_filter.actions');
    const names = new Set(actions.points.map((p) => p.attributes['llmtap.content_filter.category']));
    expect(names.size).toBe(MAX_VALUES_PER_ATTRIBUTE + 1);
    expect(names.has('_OTHER')).toBe(true);
    const other = actions.points.find((p) => p.attributes['llmtap.content_filter.category'] === '_OTHER');
    expect(other?.value).toBe(10);
    const overflow = metric('llmtap.metric.attribute_overflow');
    expect(overflow.points).toHaveLength(1);
    expect(overflow.points[0]?.attributes).toEqual({
      'llmtap.metric.attribute': 'llmtap.content_filter.category',
    });
    expect(overflow.points[0]?.value).toBe(10);
  });

  it('ValueLimiter keeps known values, replaces new ones past the limit', () => {
    const overflowed: string[] = [];
    const limiter = new ValueLimiter(2, (key) => overflowed.push(key));
    expect(limiter.value('k', 'a')).toBe('a');
    expect(limiter.value('k', 'b')).toBe('b');
    expect(limiter.value('k', 'c')).toBe('_OTHER');
    expect(limiter.value('k', 'a')).toBe('a');
    expect(limiter.value('j', 'c')).toBe('c');
    expect(overflowed).toEqual(['k']);
  });

  it('span attributes: Azure results as JSON in the documented shape, guardrail findings per policy', () => {
    const attrs = safetySpanAttributes({
      promptFilterResults: [{ promptIndex: 0, categories: { hate: { filtered: true, severity: 'high' } } }],
      completionFilterResults: { violence: { filtered: false, severity: 'low' } },
      guardrail: {
        activated: true,
        ids: ['gr-1'],
        version: '2',
        findings: [
          { policy: 'words', stage: 'input', category: 'CUSTOM', action: 'BLOCKED', count: 2 },
          {
            policy: 'content',
            stage: 'output',
            category: 'HATE',
            action: 'NONE',
            confidence: 'LOW',
            count: 1,
          },
        ],
        evaluated: [{ policy: 'topics', stage: 'input' }],
      },
      truncated: true,
    });
    expect(JSON.parse(String(attrs['gen_ai.prompt.prompt_filter_results']))).toEqual([
      { prompt_index: 0, content_filter_results: { hate: { filtered: true, severity: 'high' } } },
    ]);
    expect(JSON.parse(String(attrs['gen_ai.completion.content_filter_results']))).toEqual({
      violence: { filtered: false, severity: 'low' },
    });
    expect(attrs).toMatchObject({
      'gen_ai.bedrock.guardrail.activation': true,
      'gen_ai.guardrail.id': 'gr-1',
      'aws.bedrock.guardrail.id': 'gr-1',
      'gen_ai.guardrail.version': '2',
      'gen_ai.bedrock.guardrail.topics': '[]',
      'llmtap.safety.truncated': true,
    });
    expect(JSON.parse(String(attrs['gen_ai.bedrock.guardrail.words']))).toEqual([
      { stage: 'input', list: 'CUSTOM', action: 'BLOCKED', count: 2 },
    ]);
    expect(JSON.parse(String(attrs['gen_ai.bedrock.guardrail.content']))).toEqual([
      { stage: 'output', type: 'HATE', confidence: 'LOW', action: 'NONE', count: 1 },
    ]);
    expect(safetySpanAttributes(undefined)).toEqual({});
  });
});
