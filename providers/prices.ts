/**
 * Pricing of LLM calls: the explicit rules that map a model id as a provider reports it (`gpt-4o-2024-08-06`,
 * `us.anthropic.claude-…-v1:0`, `models/gemini-2.5-pro`) to a price-table entry, the cost math, and the
 * schema of the user price file. Pure functions, no I/O: the `LLMTAP_PRICES` file is read by
 * `src/telemetry/pricing.ts` and laid over the built-in table (`providers/price-table.ts`) with
 * `mergePriceTables`.
 */
// zod/mini: the classic API would pull all of zod into the start-up graph (providers/schema.ts).
import * as z from 'zod/mini';
import type { Operation, Usage } from '../src/record.ts';

export { builtinPrices } from './price-table.ts';

/** One model's prices in USD per 1M tokens. `cacheRead`/`cacheWrite` absent: billed as plain input. */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheRead?: number | undefined;
  readonly cacheWrite?: number | undefined;
  /** ISO date the price was read from `source`. */
  readonly asOf: string;
  readonly source: string;
}

export interface PriceTable {
  readonly version: string;
  /** `gen_ai.provider.name` → lower-case model id → price. */
  readonly providers: Readonly<Record<string, Readonly<Record<string, ModelPrice>>>>;
  /** `gen_ai.provider.name` → lower-case alias → model id in the same provider's table. */
  readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Providers priced from another provider's table (same models, same list price). */
const tableFallbacks: Readonly<Record<string, readonly string[]>> = {
  'azure.ai.openai': ['openai'],
  'gcp.vertex_ai': ['gcp.gemini', 'anthropic'],
  'gcp.gen_ai': ['gcp.gemini'],
  together: ['together_ai'],
  xai: ['x_ai'],
  mistral: ['mistral_ai'],
};

/** Bedrock model-id vendor prefixes whose models are priced from that vendor's own table. */
const bedrockVendorTables: Readonly<Record<string, string>> = { anthropic: 'anthropic' };

/** OpenRouter's `vendor/model` ids, priced from the vendor's own table (OpenRouter passes list prices). */
const openRouterVendorTables: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'gcp.gemini',
  'x-ai': 'x_ai',
  mistralai: 'mistral_ai',
  deepseek: 'deepseek',
  cohere: 'cohere',
};

/**
 * The explicit dated-id rules, tried in order after the exact id; the first id present in the table wins.
 * `gpt-4o-2024-08-06`, `claude-3-haiku-20240307`, `gpt-4-0613`, `mistral-large-2411`, `gemini-1.5-pro-002`,
 * `claude-3-5-sonnet@20240620` (Vertex), `mistral-large-latest`, `gemini-2.5-flash-preview-05-20`.
 */
const datedSuffixes: readonly RegExp[] = [
  /-\d{4}-\d{2}-\d{2}$/,
  /-\d{8}$/,
  /@(?:\d{8}|latest|default)$/,
  /-latest$/,
  /-preview-\d{2}-\d{2}$/,
  /-\d{4}$/,
  /-\d{3}$/,
];

/** Bedrock: `us.`/`eu.`/`apac.`/`global.` inference-profile prefixes and `-v1:0` version suffixes. */
const bedrockRegion = /^(?:us|eu|apac|us-gov|global|jp|au|ca)\./;
const bedrockVersion = /(?:-v\d+(?::\d+)?|:\d+)$/;

/** Candidate ids for one model id within one table: exact, then each dated-id rule once. */
export const modelIdCandidates = (model: string): string[] => {
  const base = model.toLowerCase();
  const out = [base];
  for (const suffix of datedSuffixes) {
    if (suffix.test(base)) out.push(base.replace(suffix, ''));
  }
  return out;
};

export interface PriceMatch {
  readonly price: ModelPrice;
  /** `<provider table>/<model id>` of the entry that matched. */
  readonly entry: string;
}

const lookup = (table: PriceTable, provider: string, model: string): PriceMatch | undefined => {
  const models = table.providers[provider];
  if (models === undefined) return undefined;
  const aliases = table.aliases[provider];
  for (const candidate of modelIdCandidates(model)) {
    const id = aliases?.[candidate] ?? candidate;
    const price = models[id];
    if (price !== undefined) return { price, entry: `${provider}/${id}` };
  }
  return undefined;
};

const decodeId = (model: string): string => {
  if (!model.includes('%')) return model;
  try {
    return decodeURIComponent(model);
  } catch {
    return model;
  }
};

/**
 * Finds the price of `model` as reported for `provider` (a `gen_ai.provider.name`; `adapterId` is tried
 * too, so a user table may key by either). Unknown → undefined, never a zero price.
 */
export const findPrice = (
  table: PriceTable,
  provider: string,
  model: string | undefined,
  adapterId?: string,
): PriceMatch | undefined => {
  if (model === undefined || model === '') return undefined;
  let id = decodeId(model.trim());
  if (id.startsWith('models/')) id = id.slice('models/'.length);
  const providers = [provider, ...(adapterId === undefined ? [] : [adapterId])];
  for (const p of providers) {
    const direct = lookup(table, p, id);
    if (direct !== undefined) return direct;
    if (p === 'aws.bedrock' || p === 'bedrock') {
      const noRegion = id.toLowerCase().replace(bedrockRegion, '');
      const bare = noRegion.replace(bedrockVersion, '');
      // The model version stays when it names a different model (`titan-embed-text-v1` vs `-v2`).
      for (const candidate of [noRegion.replace(/:\d+$/, ''), bare]) {
        const own = lookup(table, 'aws.bedrock', candidate);
        if (own !== undefined) return own;
      }
      const dot = bare.indexOf('.');
      const vendorTable = dot > 0 ? bedrockVendorTables[bare.slice(0, dot)] : undefined;
      if (vendorTable !== undefined) {
        const vendor = lookup(table, vendorTable, bare.slice(dot + 1));
        if (vendor !== undefined) return vendor;
      }
    }
    if (p === 'openrouter') {
      const slash = id.indexOf('/');
      const vendorTable = slash > 0 ? openRouterVendorTables[id.slice(0, slash).toLowerCase()] : undefined;
      // `:free` variants cost nothing on OpenRouter but the list price is not theirs: leave unpriced.
      if (vendorTable !== undefined && !id.includes(':')) {
        const vendor = lookup(table, vendorTable, id.slice(slash + 1));
        if (vendor !== undefined) return vendor;
      }
    }
    for (const fallback of tableFallbacks[p] ?? []) {
      const viaFallback = lookup(table, fallback, id);
      if (viaFallback !== undefined) return viaFallback;
    }
  }
  return undefined;
};

/** Operations whose responses carry no output tokens, so an unknown output count is not a gap. */
const inputOnly: ReadonlySet<Operation> = new Set(['embeddings']);

/**
 * Cost in USD of one call, or undefined when the usage needed is unknown. Input tokens INCLUDE cache
 * reads and cache writes (semconv), so those are taken out of the plain-input share and priced at their
 * own rates; reasoning tokens are part of output and priced as output.
 */
export const computeCost = (price: ModelPrice, usage: Usage, operation: Operation): number | undefined => {
  const input = usage.inputTokens;
  const output = usage.outputTokens ?? (inputOnly.has(operation) ? 0 : undefined);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  const cacheWrite = usage.cacheCreationInputTokens ?? 0;
  const plainInput = Math.max(0, input - cacheRead - cacheWrite);
  const micro =
    plainInput * price.input +
    cacheRead * (price.cacheRead ?? price.input) +
    cacheWrite * (price.cacheWrite ?? price.input) +
    output * price.output;
  // Round to 1e-12 USD so float noise (0.1 + 0.2) never shows up as a different cost.
  return Math.round(micro * 1e6) / 1e12;
};

const usd = z.number().check(z.gte(0), z.lte(1_000_000));
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

/** The user price file (`LLMTAP_PRICES`, JSON or YAML): entries override and extend the built-in table. */
export const priceFileSchema = z.strictObject({
  version: z.optional(text(1, 64)),
  providers: z.record(
    text(1, 64),
    z.record(
      text(1, 256),
      z.strictObject({
        input: usd,
        output: usd,
        cacheRead: z.optional(usd),
        cacheWrite: z.optional(usd),
        asOf: z.optional(z.iso.date()),
        source: z.optional(z.string().check(z.maxLength(2048))),
      }),
    ),
  ),
  aliases: z.optional(z.record(text(1, 64), z.record(text(0, 256), text(0, 256)))),
});

export type PriceFile = z.infer<typeof priceFileSchema>;

/** The built-in table with a user file's entries laid over it; `version` names both. */
export const mergePriceTables = (base: PriceTable, file: PriceFile, fileVersion: string): PriceTable => {
  const providers: Record<string, Record<string, ModelPrice>> = {};
  for (const [p, models] of Object.entries(base.providers)) providers[p] = { ...models };
  for (const [p, models] of Object.entries(file.providers)) {
    const target = providers[p] ?? {};
    for (const [id, entry] of Object.entries(models)) {
      target[id.toLowerCase()] = {
        input: entry.input,
        output: entry.output,
        cacheRead: entry.cacheRead,
        cacheWrite: entry.cacheWrite,
        asOf: entry.asOf ?? 'unknown',
        source: entry.source ?? 'LLMTAP_PRICES',
      };
    }
    providers[p] = target;
  }
  const aliases: Record<string, Record<string, string>> = {};
  for (const [p, map] of Object.entries(base.aliases)) aliases[p] = { ...map };
  for (const [p, map] of Object.entries(file.aliases ?? {})) {
    const target = aliases[p] ?? {};
    for (const [from, to] of Object.entries(map)) target[from.toLowerCase()] = to.toLowerCase();
    aliases[p] = target;
  }
  return { version: `${base.version}+${file.version ?? fileVersion}`, providers, aliases };
};
