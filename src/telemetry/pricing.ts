/**
 * Prices a finished call: the built-in table (`providers/prices.ts`) with the optional `LLMTAP_PRICES`
 * file (JSON or YAML, zod-validated) laid over it. Unknown model or unknown usage → no cost, never $0.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  builtinPrices,
  computeCost,
  findPrice,
  mergePriceTables,
  type PriceMatch,
  type PriceTable,
  priceFileSchema,
} from '../../providers/prices.ts';
import { parseYaml } from '../config/yaml.ts';
import type { LlmCall } from '../record.ts';
import '../config/zod-messages.ts';
import { TelemetryConfigError } from './errors.ts';

export type CostResult =
  | { readonly priced: true; readonly cost: number; readonly entry: string }
  | { readonly priced: false; readonly reason: 'unknown_model' | 'unknown_usage' };

export interface Pricer {
  readonly version: string;
  /** undefined when the call is not billable at all (no usage and not a success, e.g. a 401). */
  price(call: LlmCall): CostResult | undefined;
}

/** Reads and validates the price file; errors name the file and the offending key path. */
export const loadPriceTable = async (file: string | undefined): Promise<PriceTable> => {
  if (file === undefined) return builtinPrices;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TelemetryConfigError(
      'LLMTAP_PRICES_INVALID',
      `LLMTAP_PRICES: cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  let raw: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new TelemetryConfigError(
      'LLMTAP_PRICES_INVALID',
      `LLMTAP_PRICES: ${file} is not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const parsed = priceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined ? '' : issue.path.map(String).join('.');
    throw new TelemetryConfigError(
      'LLMTAP_PRICES_INVALID',
      `LLMTAP_PRICES: ${file}: ${at === '' ? '' : `${at}: `}${issue?.message ?? 'invalid'}`,
    );
  }
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return mergePriceTables(builtinPrices, parsed.data, `file-${digest}`);
};

const UNKNOWN_MODEL: CostResult = Object.freeze({ priced: false, reason: 'unknown_model' });
const UNKNOWN_USAGE: CostResult = Object.freeze({ priced: false, reason: 'unknown_usage' });

/** Distinct (provider, model) lookups remembered; model ids come from apps, so the memo is bounded. */
const maxRemembered = 1024;

export const createPricer = (table: PriceTable): Pricer => {
  // findPrice tries several id spellings (dated suffixes, aliases, region prefixes) with regexes and string
  // copies; a service calls the same few models over and over, so the answer is remembered per id pair.
  const remembered = new Map<string, PriceMatch | null>();
  // The last call's ids and answer: consecutive calls mostly name the same model, and comparing four strings
  // spares the key string per call (#15: per-call garbage).
  let last:
    | { provider: string; adapterId: string; response: string | undefined; request: string | undefined }
    | undefined;
  let lastMatch: PriceMatch | undefined;
  const matchFor = (call: LlmCall): PriceMatch | undefined => {
    if (
      last !== undefined &&
      last.provider === call.provider &&
      last.adapterId === call.adapterId &&
      last.response === call.response.responseModel &&
      last.request === call.request.requestModel
    )
      return lastMatch;
    const match = lookUp(call);
    last = {
      provider: call.provider,
      adapterId: call.adapterId,
      response: call.response.responseModel,
      request: call.request.requestModel,
    };
    lastMatch = match;
    return match;
  };
  const lookUp = (call: LlmCall): PriceMatch | undefined => {
    const key = `${call.provider}\u0001${call.adapterId}\u0001${call.response.responseModel ?? ''}\u0001${
      call.request.requestModel ?? ''
    }`;
    const known = remembered.get(key);
    if (known !== undefined) return known ?? undefined;
    const match =
      findPrice(table, call.provider, call.response.responseModel, call.adapterId) ??
      findPrice(table, call.provider, call.request.requestModel, call.adapterId);
    if (remembered.size >= maxRemembered) remembered.clear();
    remembered.set(key, match ?? null);
    return match;
  };
  return {
    version: table.version,
    price(call) {
      const usage = call.response.usage;
      const hasUsage = usage.inputTokens !== undefined || usage.outputTokens !== undefined;
      const succeeded = call.outcome === 'completed' && (call.httpStatus ?? 0) < 400;
      if (!hasUsage && !succeeded) return undefined;
      const model = call.response.responseModel ?? call.request.requestModel;
      const match = matchFor(call);
      if (match === undefined || model === undefined) return UNKNOWN_MODEL;
      const cost = computeCost(match.price, usage, call.request.operation);
      if (cost === undefined) return UNKNOWN_USAGE;
      return { priced: true, cost, entry: match.entry };
    },
  };
};
