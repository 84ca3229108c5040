/**
 * Lenient zod building blocks for provider wire shapes. Bodies are outside input, and one odd field must
 * cost only that fact: every leaf reads an unreadable value as `undefined` (unknown, never 0), so `safeParse`
 * fails only when the value is not an object at all. Types come from the schemas (`z.infer`).
 */
import { z } from 'zod';
import { MAX_FACT_CHARS } from './common.ts';

/**
 * A leaf read by one total function. Same result as `z.<type>()…optional().catch(undefined)`, without its
 * cost: under `.catch` every unreadable member (each `null` in a chunk) builds a zod issue and its message.
 */
const leaf = <T>(readValue: (value: unknown) => T | undefined) => z.transform(readValue).optional();

/** An id, model or finish reason: a non-empty string, capped so a hostile upstream cannot bloat telemetry. */
export const zFact = leaf((value) =>
  typeof value !== 'string' || value.length === 0
    ? undefined
    : value.length > MAX_FACT_CHARS
      ? value.slice(0, MAX_FACT_CHARS)
      : value,
);

/** What `z.number().int().nonnegative()` accepts: a finite, safe, non-negative integer (Titan's `28.0` is 28). */
const readCount = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

/** A token count: a non-negative integer. */
export const zCount = leaf(readCount);

/** A choice/candidate index. */
export const zIndex = leaf(readCount);

/** A request parameter such as a temperature (`z.number()`: finite). */
export const zNumber = leaf((value) =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined,
);

export const zBoolean = leaf((value) => (typeof value === 'boolean' ? value : undefined));

/** Any value, kept as is (for members only checked for presence or read by content capture). */
export const zAny = z.unknown().optional();

/** An object with the given members (others kept, unvalidated); anything else is unknown. */
export const zObject = <S extends z.ZodRawShape>(shape: S) =>
  z.looseObject(shape).optional().catch(undefined);

/** A list whose unreadable elements become `undefined` rather than failing the whole list. */
export const zList = <T extends z.ZodType>(item: T) =>
  z.array(item.optional().catch(undefined)).optional().catch(undefined);

/** Stop sequences: one string or a list of strings. */
export const zStops = z
  .union([z.string().transform((value) => [value]), z.array(z.string())])
  .transform((list) => (list.length > 0 ? list : undefined))
  .optional()
  .catch(undefined);

/** Reads a parsed JSON value with a lenient object schema: the data, or undefined when not an object. */
export const read = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
};
