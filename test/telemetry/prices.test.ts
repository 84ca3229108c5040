import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtinPrices,
  computeCost,
  findPrice,
  type ModelPrice,
  modelIdCandidates,
} from '../../providers/prices.ts';
import { emptyUsage } from '../../src/record.ts';
import { TelemetryConfigError } from '../../src/telemetry/errors.ts';
import { createPricer, loadPriceTable } from '../../src/telemetry/pricing.ts';
import { anthropicCall, chatCall } from './calls.ts';

describe('price table matching (explicit dated-id rules)', () => {
  // [provider, model id as reported, expected table entry]; model ids taken from the recorded fixtures where possible.
  const cases: readonly [string, string, string | undefined][] = [
    ['openai', 'gpt-4o', 'openai/gpt-4o'],
    ['openai', 'gpt-4o-2024-08-06', 'openai/gpt-4o'],
    ['openai', 'gpt-4o-2024-05-13', 'openai/gpt-4o-2024-05-13'],
    ['openai', 'gpt-4o-mini-2024-07-18', 'openai/gpt-4o-mini'],
    ['openai', 'gpt-4.1-nano-2025-04-14', 'openai/gpt-4.1-nano'],
    ['openai', 'gpt-5-nano-2025-08-07', 'openai/gpt-5-nano'],
    ['openai', 'gpt-4-0613', 'openai/gpt-4'],
    ['openai', 'gpt-3.5-turbo-0125', 'openai/gpt-3.5-turbo'],
    ['openai', 'text-embedding-ada-002-v2', 'openai/text-embedding-ada-002'],
    ['openai', 'GPT-4o', 'openai/gpt-4o'],
    ['openai', 'nonexistent', undefined],
    ['azure.ai.openai', 'gpt-4.1-mini-2025-04-14', 'openai/gpt-4.1-mini'],
    ['anthropic', 'claude-3-haiku-20240307', 'anthropic/claude-3-haiku'],
    ['anthropic', 'claude-sonnet-4-20250514', 'anthropic/claude-sonnet-4'],
    ['anthropic', 'claude-opus-4-1-20250805', 'anthropic/claude-opus-4-1'],
    ['anthropic', 'claude-sonnet-4-0', 'anthropic/claude-sonnet-4'],
    ['anthropic', 'claude-does-not-exist', undefined],
    ['anthropic', 'gpt-4o', undefined],
    ['aws.bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 'anthropic/claude-sonnet-4'],
    ['aws.bedrock', 'anthropic.claude-3-5-haiku-20241022-v1%3A0', 'anthropic/claude-3-5-haiku'],
    ['aws.bedrock', 'anthropic.claude-v2', 'aws.bedrock/anthropic.claude-v2'],
    ['aws.bedrock', 'us.amazon.nova-micro-v1:0', 'aws.bedrock/amazon.nova-micro'],
    ['aws.bedrock', 'amazon.nova-lite-v1:0', 'aws.bedrock/amazon.nova-lite'],
    ['aws.bedrock', 'amazon.titan-text-express-v1', 'aws.bedrock/amazon.titan-text-express'],
    ['aws.bedrock', 'meta.llama3-70b-instruct-v1:0', 'aws.bedrock/meta.llama3-70b-instruct'],
    ['aws.bedrock', 'eu.meta.llama3-2-1b-instruct-v1:0', 'aws.bedrock/meta.llama3-2-1b-instruct'],
    ['aws.bedrock', 'ai21.j2-mid-v1', 'aws.bedrock/ai21.j2-mid'],
    ['aws.bedrock', 'amazon.titan-embed-text-v2:0', 'aws.bedrock/amazon.titan-embed-text-v2'],
    ['aws.bedrock', 'anthropic.claude-instant-v1', 'aws.bedrock/anthropic.claude-instant'],
    ['aws.bedrock', 'us.does-not-exist-model-v1:0', undefined],
    ['gcp.gemini', 'models/gemini-2.5-flash', 'gcp.gemini/gemini-2.5-flash'],
    ['gcp.gemini', 'gemini-1.5-pro-002', 'gcp.gemini/gemini-1.5-pro'],
    ['gcp.gemini', 'gemini-2.5-flash-preview-05-20', 'gcp.gemini/gemini-2.5-flash'],
    ['gcp.gemini', 'models/nonexistent-model', undefined],
    ['gcp.vertex_ai', 'gemini-2.0-flash-001', 'gcp.gemini/gemini-2.0-flash'],
    ['gcp.vertex_ai', 'claude-3-5-sonnet-v2@20241022', 'anthropic/claude-3-5-sonnet'],
    ['mistral_ai', 'mistral-large-latest', 'mistral_ai/mistral-large'],
    ['mistral_ai', 'mistral-large-2411', 'mistral_ai/mistral-large'],
    ['mistral_ai', 'mistral-embed', 'mistral_ai/mistral-embed'],
    ['groq', 'openai/gpt-oss-120b', 'groq/openai/gpt-oss-120b'],
    ['groq', 'llama3-8b-8192', 'groq/llama3-8b-8192'],
    ['deepseek', 'deepseek-chat', 'deepseek/deepseek-chat'],
    ['x_ai', 'grok-4-0709', 'x_ai/grok-4'],
    ['cohere', 'command-r', undefined],
    ['cohere', 'command-r-08-2024', 'cohere/command-r-08-2024'],
    [
      'together_ai',
      'meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo',
      'together_ai/meta-llama/meta-llama-3.1-70b-instruct-turbo',
    ],
    ['openrouter', 'openai/gpt-4o', 'openai/gpt-4o'],
    ['openrouter', 'google/gemini-2.0-flash-exp:free', undefined],
    ['ollama', 'llama3', undefined],
  ];
  it.each(cases)('%s %s → %s', (provider, model, entry) => {
    expect(findPrice(builtinPrices, provider, model)?.entry).toBe(entry);
  });

  it('tries the exact id first, then each dated-id rule once, never chaining rules', () => {
    expect(modelIdCandidates('gpt-4o-2024-08-06')).toEqual(['gpt-4o-2024-08-06', 'gpt-4o']);
    expect(modelIdCandidates('claude-3-haiku-20240307')).toEqual([
      'claude-3-haiku-20240307',
      'claude-3-haiku',
    ]);
    expect(modelIdCandidates('gpt-4o')).toEqual(['gpt-4o']);
  });

  it('finds nothing for an absent model id (never a zero price)', () => {
    expect(findPrice(builtinPrices, 'openai', undefined)).toBeUndefined();
    expect(findPrice(builtinPrices, 'openai', '')).toBeUndefined();
  });

  it('every built-in entry has a dated source and non-negative prices', () => {
    let entries = 0;
    for (const models of Object.values(builtinPrices.providers)) {
      for (const price of Object.values(models)) {
        entries += 1;
        expect(price.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(price.source).toMatch(/^https:\/\//);
        expect(price.input).toBeGreaterThanOrEqual(0);
        expect(price.output).toBeGreaterThanOrEqual(0);
      }
    }
    expect(entries).toBeGreaterThan(100);
  });
});

const priceOf = (provider: string, model: string): ModelPrice => {
  const match = findPrice(builtinPrices, provider, model);
  if (match === undefined) throw new Error(`no price for ${provider}/${model}`);
  return match.price;
};

describe('cost math', () => {
  it('prices cached input at the cache-read rate (input includes cached tokens)', () => {
    // gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per 1M; 1149 in (1024 cached), 353 out.
    const cost = computeCost(priceOf('openai', 'gpt-4o-mini'), chatCall().response.usage, 'chat');
    expect(cost).toBeCloseTo((125 * 0.15 + 1024 * 0.075 + 353 * 0.6) / 1e6, 15);
  });

  it('prices Anthropic cache reads and writes at their own rates', () => {
    const price = priceOf('anthropic', 'claude-3-5-sonnet-20240620');
    // 4 plain input at $3, 1163 cache reads at $0.30, 0 cache writes, 202 output at $15.
    expect(computeCost(price, anthropicCall().response.usage, 'chat')).toBeCloseTo(0.0033909, 12);
    const writes = {
      ...anthropicCall().response.usage,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 1163,
    };
    expect(computeCost(price, writes, 'chat')).toBeCloseTo((4 * 3 + 1163 * 3.75 + 202 * 15) / 1e6, 12);
  });

  it('is unknown when input or (for generation) output is unknown, and 0-output for embeddings', () => {
    const price = priceOf('openai', 'text-embedding-3-small');
    expect(computeCost(price, emptyUsage, 'chat')).toBeUndefined();
    expect(computeCost(price, { ...emptyUsage, inputTokens: 10 }, 'chat')).toBeUndefined();
    expect(computeCost(price, { ...emptyUsage, inputTokens: 1_000_000 }, 'embeddings')).toBeCloseTo(0.02, 12);
  });
});

describe('pricer over calls', () => {
  const pricer = createPricer(builtinPrices);
  it('prices by the response model when the provider names one', () => {
    const result = pricer.price(chatCall());
    expect(result).toMatchObject({ priced: true, entry: 'openai/gpt-4o-mini' });
  });
  it('reports an unknown model as unpriced, not $0', () => {
    const call = chatCall({
      request: { ...chatCall().request, requestModel: 'my-finetune' },
      response: { ...chatCall().response, responseModel: 'ft:my-finetune' },
    });
    expect(pricer.price(call)).toEqual({ priced: false, reason: 'unknown_model' });
  });
  it('reports a successful call without usage as unpriced (unknown usage)', () => {
    const call = chatCall({ response: { ...chatCall().response, usage: emptyUsage } });
    expect(pricer.price(call)).toEqual({ priced: false, reason: 'unknown_usage' });
  });
  it('does not count a failed call without usage at all', () => {
    const call = chatCall({
      outcome: 'errored',
      httpStatus: 401,
      response: {
        ...chatCall().response,
        usage: emptyUsage,
        error: { type: 'invalid_api_key', midStream: false },
      },
    });
    expect(pricer.price(call)).toBeUndefined();
  });
  it('remembers lookups per model pair without mixing models up, also past the memo bound', () => {
    const withModels = (requestModel: string, responseModel: string | undefined) =>
      chatCall({
        request: { ...chatCall().request, requestModel },
        response: { ...chatCall().response, responseModel },
      });
    const fresh = createPricer(builtinPrices);
    const mini = withModels('gpt-4o-mini', 'gpt-4o-mini-2024-07-18');
    const big = withModels('gpt-4o', 'gpt-4o-2024-08-06');
    const unknown = withModels('my-finetune', undefined);
    const expected = [mini, big, unknown].map((call) => createPricer(builtinPrices).price(call));
    expect(expected[0]).toMatchObject({ entry: 'openai/gpt-4o-mini' });
    expect(expected[1]).toMatchObject({ entry: 'openai/gpt-4o' });
    expect(expected[2]).toEqual({ priced: false, reason: 'unknown_model' });
    // 3,000 distinct unknown models push the memo past its bound (it is cleared, not grown).
    for (let round = 0; round < 3000; round++) {
      expect(fresh.price(withModels(`tenant-model-${round}`, undefined))).toEqual(expected[2]);
      if (round % 500 === 0) {
        expect(fresh.price(mini)).toEqual(expected[0]);
        expect(fresh.price(big)).toEqual(expected[1]);
      }
    }
    expect([mini, big, unknown].map((call) => fresh.price(call))).toEqual(expected);
  });
});

describe('LLMTAP_PRICES file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llmtap-prices-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('YAML overrides a built-in price and adds a model; the version names both tables', async () => {
    const file = join(dir, 'prices.yaml');
    await writeFile(
      file,
      [
        'version: acme-2026-11',
        'providers:',
        '  openai:',
        '    gpt-4o-mini: { input: 1, output: 2, cacheRead: 0.5, asOf: 2026-11-01, source: contract }',
        '    my-finetune: { input: 3, output: 6 }',
      ].join('\n'),
    );
    const table = await loadPriceTable(file);
    expect(table.version).toBe(`${builtinPrices.version}+acme-2026-11`);
    expect(findPrice(table, 'openai', 'gpt-4o-mini-2024-07-18')?.price).toMatchObject({
      input: 1,
      output: 2,
    });
    expect(findPrice(table, 'openai', 'my-finetune')?.price).toMatchObject({
      input: 3,
      output: 6,
      asOf: 'unknown',
    });
    expect(findPrice(table, 'anthropic', 'claude-3-haiku')?.price.input).toBe(0.25);
    expect(findPrice(builtinPrices, 'openai', 'gpt-4o-mini')?.price.input).toBe(0.15);
  });

  it('JSON without a version gets a content-hash version', async () => {
    const file = join(dir, 'prices.json');
    await writeFile(file, JSON.stringify({ providers: { acme: { 'acme-1': { input: 1, output: 1 } } } }));
    const table = await loadPriceTable(file);
    expect(table.version).toMatch(new RegExp(`^${builtinPrices.version}\\+file-[0-9a-f]{12}$`));
    expect(findPrice(table, 'acme', 'acme-1')?.entry).toBe('acme/acme-1');
  });

  it('rejects a file that does not match the schema, naming the key path', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'providers:\n  openai:\n    gpt-4o: { input: -1, output: 2 }\n');
    const error = await loadPriceTable(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect((error as TelemetryConfigError).code).toBe('LLMTAP_PRICES_INVALID');
    expect((error as Error).message).toContain('providers.openai.gpt-4o.input');
  });

  it('rejects a missing file with a typed error', async () => {
    const error = await loadPriceTable(join(dir, 'missing.json')).catch((e: unknown) => e);
    expect((error as TelemetryConfigError).code).toBe('LLMTAP_PRICES_INVALID');
    expect((error as Error).message).toContain('ENOENT');
  });
});
