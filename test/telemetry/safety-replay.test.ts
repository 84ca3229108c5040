/**
 * The recorded Azure OpenAI content-filter exchanges and Bedrock guardrail exchanges (Converse,
 * ConverseStream, InvokeModel, InvokeModelWithResponseStream) replayed through the whole llmtap, with the
 * exported OTLP decoded: the filter/guardrail attributes and counters carry the recordings' exact categories
 * and types, and none of the recordings' PII matches (nor the unmasked model output a guardrail trace quotes)
 * reaches an exported byte or a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import {
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const fixtures = new Map(loadRecordedFixtures().map((fixture) => [fixture.file, fixture]));
const fixture = (file: string): RecordedFixture => {
  const found = fixtures.get(file);
  if (found === undefined) throw new Error(`missing fixture ${file}`);
  return found;
};

const azureJson = fixture('azure-openai/chat_nonstream_content_filter_results.json');
const azureStream = fixture('azure-openai/chat_stream_prompt_filter_first_chunk.json');
const bedrockReplays = [
  'bedrock/converse_guardrail.json',
  'bedrock/converse_nova.json',
  'bedrock/converse_stream_nova_guardrail_intervened.json',
  'bedrock/converse_stream_titan.json',
  'bedrock/invoke_nova.json',
  'bedrock/invoke_stream_titan.json',
].map(fixture);

/** Every `match` of the recordings' guardrail traces, and the unmasked text they quote in `modelOutput`. */
const PII = ['Italy', 'Rome', 'Japan', 'Tokyo', '1234561666', 'Account Number}'];

type Json = Record<string, unknown>;

/** The decoded payloads of a fixture's response: the JSON body, every SSE `data:`, every eventstream frame. */
const payloads = (recorded: RecordedFixture): Json[] => {
  const { response } = recorded;
  if (response.format === 'json') return [JSON.parse(response.body) as Json];
  if (response.format === 'sse') {
    return response.body
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
      .map((line) => JSON.parse(line.slice(6)) as Json);
  }
  const bytes = Buffer.from(response.body, 'base64');
  const out: Json[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = bytes.readUInt32BE(at);
    const headers = bytes.readUInt32BE(at + 4);
    const payload = JSON.parse(bytes.subarray(at + 12 + headers, at + total - 4).toString('utf8')) as Json;
    const encoded = payload.bytes;
    out.push(
      typeof encoded === 'string'
        ? (JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Json)
        : payload,
    );
    at += total;
  }
  return out;
};

/** The recording's filter categories reduced to `filtered`/`severity`/`detected`, worst verdict per category. */
const expectedFilters = (results: readonly unknown[]): Record<string, Json> => {
  const rank: Record<string, number> = { safe: 0, low: 1, medium: 2, high: 3 };
  const out: Record<string, Json> = {};
  for (const result of results) {
    for (const [name, raw] of Object.entries((result ?? {}) as Record<string, Json>)) {
      const known = out[name] ?? {};
      const merged: Json = { ...known };
      if (typeof raw.filtered === 'boolean') merged.filtered = known.filtered === true || raw.filtered;
      if (typeof raw.detected === 'boolean') merged.detected = known.detected === true || raw.detected;
      if (typeof raw.severity === 'string') {
        const before = known.severity as string | undefined;
        merged.severity =
          before === undefined || (rank[raw.severity] ?? 0) > (rank[before] ?? 0) ? raw.severity : before;
      }
      out[name] = merged;
    }
  }
  return out;
};

const completionResults = (recorded: RecordedFixture): unknown[] =>
  payloads(recorded).flatMap((payload) =>
    ((payload.choices ?? []) as Json[]).map((choice) => choice.content_filter_results),
  );

const promptResults = (recorded: RecordedFixture): Json[] =>
  payloads(recorded).flatMap((payload) => (payload.prompt_filter_results ?? []) as Json[]);

/** PII entity types per stage in a recording's guardrail traces (Converse and InvokeModel shapes). */
const piiTypes = (recorded: RecordedFixture): Map<string, number> => {
  const counts = new Map<string, number>();
  const visit = (assessment: unknown): void => {
    const sensitive = (assessment as Json | undefined)?.sensitiveInformationPolicy as Json | undefined;
    for (const entity of (sensitive?.piiEntities ?? []) as Json[]) {
      const key = `pii:${String(entity.type)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const regex of (sensitive?.regexes ?? []) as Json[]) {
      const key = `regex:${String(regex.name)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  for (const payload of payloads(recorded)) {
    const converse = (payload.trace as Json | undefined)?.guardrail as Json | undefined;
    for (const list of Object.values((converse?.outputAssessments ?? {}) as Record<string, unknown[]>)) {
      for (const assessment of list) visit(assessment);
    }
    const invoke = (payload['amazon-bedrock-trace'] as Json | undefined)?.guardrail as Json | undefined;
    for (const output of (invoke?.outputs ?? []) as Json[]) for (const a of Object.values(output)) visit(a);
  }
  return counts;
};

let upstream: Upstream;
let serving: RecordedFixture = azureJson;
let receiver: OtlpReceiver;
let app: TestLlmtap;
const clientBodies = new Map<string, Buffer>();

const replay = async (recorded: RecordedFixture, prefix: string): Promise<void> => {
  serving = recorded;
  const response = await fetch(`${app.server.dataUrl}${prefix}${recorded.request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: recorded.request.body ?? '',
  });
  clientBodies.set(recorded.file, Buffer.from(await response.arrayBuffer()));
};

beforeAll(async () => {
  upstream = await startUpstream(async (_req, res) => {
    res.writeHead(serving.response.status, replayHeaders(serving));
    const body = wireBody(serving);
    for (let offset = 0; offset < body.length; offset += 173) {
      res.write(body.subarray(offset, offset + 173));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  receiver = await startOtlpReceiver();
  app = await startFullLlmtap(
    {
      routes: [
        { prefix: '/azure', provider: 'azure-openai', upstream: upstream.url },
        { prefix: '/bedrock', provider: 'bedrock', upstream: upstream.url },
      ],
    },
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '60000' },
  );
  await replay(azureJson, '/azure');
  await replay(azureStream, '/azure');
  for (const recorded of bedrockReplays) await replay(recorded, '/bedrock');
  const calls = 2 + bedrockReplays.length;
  await receiver.waitFor(() => app.requestLogs().length === calls, 5000, 'one request log line per call');
  await app.shutdown();
});

afterAll(async () => {
  await receiver.close();
  await upstream.close();
});

const spanOf = (recorded: RecordedFixture): ReceivedSpan => {
  // Each recording has its own response id (Bedrock's is the `x-amzn-requestid` header).
  const found = receiver.spans.filter(
    (span) => span.attributes['gen_ai.response.id'] === recorded.expected.response_id,
  );
  if (found.length !== 1) throw new Error(`expected one span for ${recorded.file}, got ${found.length}`);
  return found[0] as ReceivedSpan;
};

const metric = (name: string): ReceivedMetric => {
  const found = receiver.metrics.find((m) => m.name === name);
  if (found === undefined) throw new Error(`metric ${name} not exported`);
  return found;
};

const sumWhere = (m: ReceivedMetric, attrs: Record<string, unknown>): number =>
  m.points
    .filter((p) => Object.entries(attrs).every(([key, value]) => p.attributes[key] === value))
    .reduce((total, p) => total + (p.value ?? p.count ?? 0), 0);

describe('Azure OpenAI content filters, replayed', () => {
  it('forwards both recordings byte for byte', () => {
    expect(clientBodies.get(azureJson.file)?.toString('utf8')).toBe(azureJson.response.body);
    expect(clientBodies.get(azureStream.file)?.toString('utf8')).toBe(azureStream.response.body);
  });

  for (const recorded of [azureJson, azureStream]) {
    it(`${recorded.name}: prompt and completion filter results with the recording's categories`, () => {
      const span = spanOf(recorded);
      const prompt = JSON.parse(String(span.attributes['gen_ai.prompt.prompt_filter_results']));
      expect(prompt).toEqual([
        {
          prompt_index: 0,
          content_filter_results: expectedFilters(
            promptResults(recorded).map((p) => p.content_filter_results),
          ),
        },
      ]);
      // The exact categories of the recording, spelled out once.
      expect(Object.keys(prompt[0].content_filter_results).sort()).toEqual([
        'hate',
        'jailbreak',
        'self_harm',
        'sexual',
        'violence',
      ]);
      expect(prompt[0].content_filter_results.jailbreak).toEqual({ filtered: false, detected: false });
      const completion = JSON.parse(String(span.attributes['gen_ai.completion.content_filter_results']));
      expect(completion).toEqual(expectedFilters(completionResults(recorded)));
      expect(Object.keys(completion).sort()).toEqual([
        'hate',
        'protected_material_code',
        'protected_material_text',
        'self_harm',
        'sexual',
        'violence',
      ]);
      expect(completion.hate).toEqual({ filtered: false, severity: 'safe' });
      // Nothing was filtered: no block.
      expect(span.attributes).not.toHaveProperty('llmtap.safety.blocked');
      expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    });
  }

  it('counts one verdict per category and stage of each call', () => {
    const actions = metric('llmtap.content_filter.actions');
    expect(actions.unit).toBe('{action}');
    expect(actions.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    const azure = { 'gen_ai.provider.name': 'azure.ai.openai' };
    expect(
      sumWhere(actions, {
        ...azure,
        'llmtap.content_filter.stage': 'input',
        'llmtap.content_filter.category': 'jailbreak',
        'llmtap.content_filter.action': 'none',
      }),
    ).toBe(2);
    expect(
      sumWhere(actions, {
        ...azure,
        'llmtap.content_filter.stage': 'output',
        'llmtap.content_filter.category': 'hate',
        'llmtap.content_filter.action': 'none',
        'llmtap.content_filter.severity': 'safe',
      }),
    ).toBe(2);
    // 5 prompt + 6 completion categories per call.
    expect(sumWhere(actions, azure)).toBe(22);
    expect(sumWhere(actions, { 'llmtap.content_filter.action': 'filtered' })).toBe(0);
  });
});

describe('Bedrock guardrails, replayed', () => {
  it('forwards every recording byte for byte', () => {
    for (const recorded of bedrockReplays) {
      expect(clientBodies.get(recorded.file)?.equals(wireBody(recorded)), recorded.file).toBe(true);
    }
  });

  for (const recorded of bedrockReplays) {
    it(`${recorded.name}: activation, guardrail id and the recording's sensitive-information types on the span`, () => {
      const span = spanOf(recorded);
      expect(span.attributes['gen_ai.bedrock.guardrail.activation']).toBe(true);
      const body = recorded.request.body ?? '';
      const id = /"guardrailIdentifier": "([^"]+)"/.exec(body)?.[1];
      if (id !== undefined) {
        expect(span.attributes['gen_ai.guardrail.id']).toBe(id);
        expect(span.attributes['aws.bedrock.guardrail.id']).toBe(id);
        expect(span.attributes['gen_ai.guardrail.version']).toBe('DRAFT');
      } else {
        // InvokeModel names its guardrail only in the trace's assessment keys.
        expect(String(span.attributes['gen_ai.guardrail.id'])).toMatch(/^[a-z0-9]{12}$/);
      }
      const sensitive = JSON.parse(
        String(span.attributes['gen_ai.bedrock.guardrail.sensitive_info']),
      ) as Json[];
      const got = new Map<string, number>();
      for (const entry of sensitive) {
        expect(entry.stage).toBe('output');
        expect(entry.action).toBe('ANONYMIZED');
        const key = entry.pii !== undefined ? `pii:${String(entry.pii)}` : `regex:${String(entry.regex)}`;
        got.set(key, (got.get(key) ?? 0) + Number(entry.count));
      }
      expect(got).toEqual(piiTypes(recorded));
      expect(got.size).toBeGreaterThan(0);
      // Masking is an intervention, not a block.
      expect(span.attributes).not.toHaveProperty('llmtap.safety.blocked');
    });
  }

  it('puts the policies that ran without findings on the span as empty lists, grounding scores too', () => {
    const nova = spanOf(fixture('bedrock/converse_nova.json'));
    for (const policy of ['content', 'topics', 'words']) {
      expect(nova.attributes[`gen_ai.bedrock.guardrail.${policy}`]).toBe('[]');
    }
    expect(JSON.parse(String(nova.attributes['gen_ai.bedrock.guardrail.contextual']))).toEqual([
      { stage: 'output', type: 'GROUNDING', score: 1, threshold: 0.75, action: 'NONE', count: 1 },
      { stage: 'output', type: 'RELEVANCE', score: 1, threshold: 0.75, action: 'NONE', count: 1 },
    ]);
  });

  it('exports the five guardrail counters with policy type, category and stage', () => {
    const bedrock = { 'gen_ai.provider.name': 'aws.bedrock' };
    const activation = metric('gen_ai.bedrock.guardrail.activation');
    expect(activation.temporality).toBe('AGGREGATION_TEMPORALITY_DELTA');
    expect(sumWhere(activation, bedrock)).toBe(bedrockReplays.length);

    const sensitive = metric('gen_ai.bedrock.guardrail.sensitive_info');
    const expected = new Map<string, number>();
    for (const recorded of bedrockReplays) {
      for (const [key, count] of piiTypes(recorded)) expected.set(key, (expected.get(key) ?? 0) + count);
    }
    expect(expected.get('pii:ADDRESS')).toBe(4 + 1 + 1 + 3);
    expect(expected.get('regex:Account Number')).toBe(4);
    for (const [key, count] of expected) {
      const [kind, name] = key.split(':') as [string, string];
      expect(
        sumWhere(sensitive, {
          ...bedrock,
          'gen_ai.guardrail.type': 'output',
          'gen_ai.guardrail.action': 'ANONYMIZED',
          [kind === 'pii' ? 'gen_ai.guardrail.pii' : 'gen_ai.guardrail.pattern']: name,
        }),
        key,
      ).toBe(count);
    }
    // Policies that ran and found nothing report 0 at their stage (the dashboards show 0, not "no data").
    for (const name of ['content', 'topics', 'words']) {
      const counter = metric(`gen_ai.bedrock.guardrail.${name}`);
      const points = counter.points.filter((p) => p.attributes['gen_ai.guardrail.type'] === 'input');
      expect(points.length, name).toBeGreaterThan(0);
      expect(sumWhere(counter, bedrock), name).toBe(0);
    }
    const grounding = metric('gen_ai.bedrock.guardrail.contextual');
    expect(sumWhere(grounding, { ...bedrock, 'gen_ai.guardrail.grounding_type': 'GROUNDING' })).toBe(3);
  });
});

describe('the users’ data stays out', () => {
  it('no PII match, masked value or quoted model output in any exported byte or log line', () => {
    const exported = receiver.allBytes();
    expect(receiver.spans.length).toBe(2 + bedrockReplays.length);
    for (const text of PII) {
      expect(exported.includes(Buffer.from(text)), text).toBe(false);
      for (const line of app.logs) expect(line.includes(text), `${text} in ${line}`).toBe(false);
    }
    // Nor the regex pattern of the sensitive-information policy.
    expect(exported.includes(Buffer.from('\\d{6}'))).toBe(false);
  });

  it('says on the request log line that a guardrail acted', () => {
    const lines = app.requestLogs().filter((line) => line.provider === 'aws.bedrock');
    expect(lines).toHaveLength(bedrockReplays.length);
    for (const line of lines) expect(line.safety).toBe('guardrail_activated');
  });
});
