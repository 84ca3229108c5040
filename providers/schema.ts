/**
 * Lenient zod building blocks for provider wire shapes. Bodies are outside input, and one odd field must
 * cost only that fact: every leaf `.catch`es to `undefined` (unknown, never 0), so `safeParse` fails only
 * when the value is not an object at all. Types come from the schemas (`z.infer`).
 */
// zod/mini, not the classic chained API: its functions tree-shake to the few schema kinds used here, while the
// classic \`z\` pulls all of zod into the start-up graph (~10 MB resident in every pod, #15).
import * as z from 'zod/mini';
import { MAX_FACT_CHARS } from './common.ts';
import { compileReader, FAIL, type Reader, UnsupportedSchema } from './schema-reader.ts';

/** An id, model or finish reason: a non-empty string, capped so a hostile upstream cannot bloat telemetry. */
export const zFact = z.catch(
  z.optional(
    z.pipe(
      z.string(),
      z.transform((value: string) =>
        value.length === 0
          ? undefined
          : value.length > MAX_FACT_CHARS
            ? value.slice(0, MAX_FACT_CHARS)
            : value,
      ),
    ),
  ),
  undefined,
);

/** A non-negative integer or undefined (Titan's `28.0` is 28). */
const zNonNegativeInt = () => z.catch(z.optional(z.int().check(z.nonnegative())), undefined);

/** A token count: a non-negative integer (Titan's `28.0` is 28). */
export const zCount = zNonNegativeInt();

/** A choice/candidate index. */
export const zIndex = zNonNegativeInt();

/** A request parameter such as a temperature. */
export const zNumber = z.catch(z.optional(z.number()), undefined);

export const zBoolean = z.catch(z.optional(z.boolean()), undefined);

/** Any value, kept as is (for members only checked for presence or read by content capture). */
export const zAny = z.optional(z.unknown());

/** An object with the given members (others kept, unvalidated); anything else is unknown. */
export const zObject = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.catch(z.optional(z.looseObject(shape)), undefined);

/** A list whose unreadable elements become `undefined` rather than failing the whole list. */
export const zList = <T extends z.core.SomeType>(item: T) =>
  z.catch(z.optional(z.array(z.catch(z.optional(item), undefined))), undefined);

/** Stop sequences: one string or a list of strings. */
export const zStops = z.catch(
  z.optional(
    z.pipe(
      z.union([
        z.pipe(
          z.string(),
          z.transform((value: string) => [value]),
        ),
        z.array(z.string()),
      ]),
      z.transform((list: string[]) => (list.length > 0 ? list : undefined)),
    ),
  ),
  undefined,
);

// Each schema's compiled reader (null: not compilable, zod reads it), made on its first read.
const readers = new WeakMap<object, Reader | null>();

const readerOf = (schema: z.core.$ZodType): Reader | null => {
  let reader = readers.get(schema);
  if (reader === undefined) {
    try {
      reader = compileReader(schema);
    } catch (error) {
      if (!(error instanceof UnsupportedSchema)) throw error;
      reader = null;
    }
    readers.set(schema, reader);
  }
  return reader;
};

/**
 * Reads a parsed JSON value with a lenient object schema: the data, or undefined when not an object. The
 * schema's compiled reader answers (same result as zod, see schema-reader.ts); zod itself answers for a
 * schema the compiler does not model and wherever the reader reports a failure.
 */
export const read = <T>(schema: z.core.$ZodType<T>, value: unknown): T | undefined => {
  const reader = readerOf(schema);
  if (reader !== null) {
    const data = reader(value);
    if (data !== FAIL) return data as T;
  }
  const result = z.safeParse(schema, value);
  return result.success ? result.data : undefined;
};
