/**
 * Reads the top-level members of a JSON object body, parsing only the small ones. Request bodies of agents
 * are mostly conversation (`messages`, `input`, `contents`, `tools`: hundreds of KB), while the facts we
 * record (`model`, `stream`, `temperature`, …) are tiny members. `JSON.parse` of the whole body costs
 * ~3 ms per MB of event-loop time plus the garbage of the object graph; skipping a large member costs a
 * native `indexOf` per string inside it, since strings dominate such bodies.
 *
 * Only structure is checked while skipping (balanced brackets, terminated strings); a member that is kept
 * is validated by `JSON.parse`. Anything malformed makes the whole result `undefined`, as `JSON.parse` would.
 */
import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isWhitespace,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from './json-scan.ts';

const skipWhitespace = (bytes: Buffer, i: number): number => {
  while (i < bytes.length && isWhitespace(bytes[i])) i++;
  return i;
};

/**
 * Index just past the string starting at `i` (a quote), or -1 when it never ends. Jumps to the next quote
 * with native `indexOf`; only a quote preceded by backslashes needs a look back.
 */
const endOfString = (bytes: Buffer, i: number): number => {
  let from = i + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    if (bytes[quote - 1] !== BACKSLASH) return quote + 1;
    let backslashes = 1;
    for (let k = quote - 2; k > i && bytes[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
};

/** Index just past the value starting at `i`, or -1 when the structure is broken. */
const endOfValue = (bytes: Buffer, i: number): number => {
  const first = bytes[i];
  if (first === QUOTE) return endOfString(bytes, i);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number or literal: up to the next delimiter; JSON.parse validates it if it is kept.
    while (i < bytes.length) {
      const b = bytes[i];
      if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isWhitespace(b)) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === QUOTE) {
      i = endOfString(bytes, i);
      if (i === -1) return -1;
      continue;
    }
    if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
};

/**
 * The body's top-level members, with every member whose raw JSON is longer than `maxMemberBytes` left out;
 * undefined when the body is not a well-formed JSON object.
 *
 * With `standIns`, a member left out for its size is kept as an empty value of its kind (`[]`, `{}` or `''`),
 * for readers that only ask whether a member is there and what it is.
 *
 * With `prefix`, `bytes` is only the start of a body cut by the copy limit: the members complete before
 * the cut are returned (a value touching the cut is dropped, since `12` may have been `123`), and nothing
 * after them is claimed. Malformed input before the cut still gives undefined.
 */
export interface SkimOptions {
  /** `bytes` is the start of a body cut by a copy limit. */
  readonly prefix?: boolean;
  /** Members left out for their size are kept as empty values of their kind. */
  readonly standIns?: boolean;
}

export const skimJsonObject = (
  bytes: Buffer,
  maxMemberBytes: number,
  { prefix = false, standIns = false }: SkimOptions = {},
): Record<string, unknown> | undefined => {
  const result: Record<string, unknown> = {};
  /** Running out of bytes: the end of a prefix, or a truncated (so malformed) whole body. */
  const cut = (): Record<string, unknown> | undefined => (prefix ? result : undefined);
  try {
    let i = skipWhitespace(bytes, 0);
    if (i === bytes.length) return cut();
    if (bytes[i] !== OPEN_BRACE) return undefined;
    i = skipWhitespace(bytes, i + 1);
    if (i === bytes.length) return cut();
    if (bytes[i] === CLOSE_BRACE) return skipWhitespace(bytes, i + 1) === bytes.length ? result : undefined;
    for (;;) {
      if (bytes[i] !== QUOTE) return undefined;
      const keyEnd = endOfString(bytes, i);
      if (keyEnd === -1) return cut();
      const key: unknown = JSON.parse(bytes.toString('utf8', i, keyEnd));
      if (typeof key !== 'string') return undefined;
      i = skipWhitespace(bytes, keyEnd);
      if (i === bytes.length) return cut();
      if (bytes[i] !== COLON) return undefined;
      const valueStart = skipWhitespace(bytes, i + 1);
      const valueEnd = endOfValue(bytes, valueStart);
      if (valueEnd === -1 || (prefix && valueEnd === bytes.length)) return cut();
      if (valueEnd === valueStart) return undefined;
      if (valueEnd - valueStart <= maxMemberBytes) {
        // Like JSON.parse, a repeated key keeps its last value; `__proto__` becomes an own property.
        Object.defineProperty(result, key, {
          value: JSON.parse(bytes.toString('utf8', valueStart, valueEnd)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (standIns) {
        // Presence and kind survive (`Array.isArray(body.messages)`, `'stream_options' in body`).
        const first = bytes[valueStart];
        const standIn = first === OPEN_BRACKET ? [] : first === OPEN_BRACE ? {} : '';
        Object.defineProperty(result, key, {
          value: standIn,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        delete result[key];
      }
      i = skipWhitespace(bytes, valueEnd);
      if (i === bytes.length) return cut();
      if (bytes[i] === COMMA) {
        i = skipWhitespace(bytes, i + 1);
        if (i === bytes.length) return cut();
        continue;
      }
      if (bytes[i] === CLOSE_BRACE) return skipWhitespace(bytes, i + 1) === bytes.length ? result : undefined;
      return undefined;
    }
  } catch {
    return undefined;
  }
};
