/**
 * Lenient zod building blocks for provider wire shapes. Bodies are outside input, and one odd field must
 * cost only that fact: every leaf `.catch`es to `undefined` (unknown, never 0), so `safeParse` fails only
 * when the value is not an object at all. Types come from the schemas (`z.infer`).
 */
import { z } from 'zod';
import { MAX_FACT_CHARS } from './common.ts';

/** An id, model or finish reason: a non-empty string, capped so a hostile upstream cannot bloat telemetry. */
export const zFact = z
  .string()
  .transform((value) =>
    value.length === 0 ? undefined : value.length > MAX_FACT_CHARS ? value.slice(0, MAX_FACT_CHARS) : value,
  )
  .optional()
  .catch(undefined);

/** A token count: a non-negative integer (Titan's `28.0` is 28). */
export const zCount = z.number().int().nonnegative().optional().catch(undefined);

/** A choice/candidate index. */
export const zIndex = z.number().int().nonnegative().optional().catch(undefined);

/** A request parameter such as a temperature. */
export const zNumber = z.number().optional().catch(undefined);

export const zBoolean = z.boolean().optional().catch(undefined);

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
