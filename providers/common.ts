/**
 * Helpers shared by the adapters: the cheap textual pre-checks that decide whether a frame is worth a
 * `JSON.parse` at all, path and header helpers, and the total guards (`obj`, `arr`, `str`) that content
 * capture uses to walk provider-defined message parts. Facts are read through the zod schemas
 * (`schema.ts` and the per-provider `*-schemas.ts`).
 */

export type Json = Record<string, unknown>;

/** Longest model/id/finish-reason string kept: a hostile or broken upstream must not bloat telemetry. */
export const MAX_FACT_CHARS = 256;
/** Highest choice index tracked; keeps parser state O(1) whatever `n` the client asked for. */
export const MAX_CHOICES = 128;

export const obj = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;

export const arr = (value: unknown): readonly unknown[] | undefined =>
  Array.isArray(value) ? value : undefined;

/** A non-empty string, capped to `MAX_FACT_CHARS`. */
export const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0
    ? value.length > MAX_FACT_CHARS
      ? value.slice(0, MAX_FACT_CHARS)
      : value
    : undefined;

/** `a + b + c` where every present term is known; undefined when `a` is unknown (cache terms may be absent). */
export const sumKnown = (
  base: number | undefined,
  ...extra: readonly (number | undefined)[]
): number | undefined => {
  if (base === undefined) return undefined;
  let total = base;
  for (const value of extra) if (value !== undefined) total += value;
  return total;
};

const isSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/**
 * Index of the first character of the value of member `"key"`, searching from `from`, or -1.
 * A cheap textual check used to skip `JSON.parse` of frames that cannot change any fact. It may find the
 * key inside nested objects (harmless: the frame is then parsed), and cannot find it inside string values,
 * where quotes are escaped.
 */
const valueStart = (text: string, quotedKey: string, from: number): [number, number] => {
  let at = text.indexOf(quotedKey, from);
  while (at !== -1) {
    let i = at + quotedKey.length;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 0x3a /* : */) {
      i++;
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      return [i, at];
    }
    at = text.indexOf(quotedKey, at + 1);
  }
  return [-1, -1];
};

/**
 * Whether member `"key"` (quoted) has a non-empty string value somewhere in `text`: a native scan, no parse.
 * Like the other pre-checks it may find the key in a nested object; callers parse or act on a hit.
 */
export const hasStringMember = (text: string, quotedKey: string): boolean => {
  let from = 0;
  for (;;) {
    const [start, at] = valueStart(text, quotedKey, from);
    if (start === -1) return false;
    if (text.charCodeAt(start) === 0x22 && text.charCodeAt(start + 1) !== 0x22) return true;
    from = at + 1;
  }
};

/**
 * A regex matching a member named one of `keys` whose value is not null, `""`, `[]` or `{}`: one native
 * scan per frame tells whether it carries output, instead of an `indexOf` pass per key. Keys inside string
 * values cannot match (their quotes are escaped); a false positive costs only a parse or an output count.
 */
export const nonEmptyMember = (keys: readonly string[]): RegExp =>
  new RegExp(`"(?:${keys.join('|')})"\\s*:\\s*(?:"[^"]|[[{](?![\\]}])|[^\\s"[{n])`);

/** A regex matching a member named one of `keys` whose value is not null (same reasoning as `nonEmptyMember`). */
export const nonNullMember = (keys: readonly string[]): RegExp =>
  new RegExp(`"(?:${keys.join('|')})"\\s*:\\s*[^\\sn]`);

/** `memberChecks` flag: `nonEmptyMember(outputKeys)` matches. */
export const OUTPUT_MEMBER = 1;
/** `memberChecks` flag: `nonNullMember(factKeys)` matches. */
export const FACT_MEMBER = 2;

/**
 * Both `nonEmptyMember(outputKeys)` and `nonNullMember(factKeys)` on a frame, in one pass instead of two:
 * one regex finds the leftmost match of either; its kind is told by the key's first letter (the two key
 * lists must differ there), and only the other regex then runs, from just after it. The answers are exactly
 * those of the two regexes: a match of the other kind cannot start at or before the leftmost match.
 */
export const memberChecks = (
  outputKeys: readonly string[],
  factKeys: readonly string[],
): ((text: string) => number) => {
  const output = nonEmptyMember(outputKeys);
  const fact = nonNullMember(factKeys);
  const factFirst = new Set(factKeys.map((key) => key.charCodeAt(0)));
  if (outputKeys.some((key) => factFirst.has(key.charCodeAt(0)))) {
    throw new Error('memberChecks: output and fact keys must differ in their first letter');
  }
  // `search` finds the leftmost match without allocating a match array; `test` on a global regex resumes at
  // `lastIndex`.
  const either = new RegExp(`${output.source}|${fact.source}`);
  const outputAfter = new RegExp(output.source, 'g');
  const factAfter = new RegExp(fact.source, 'g');
  return (text) => {
    const at = text.search(either);
    if (at === -1) return 0;
    if (factFirst.has(text.charCodeAt(at + 1))) {
      outputAfter.lastIndex = at + 1;
      return FACT_MEMBER | (outputAfter.test(text) ? OUTPUT_MEMBER : 0);
    }
    factAfter.lastIndex = at + 1;
    return OUTPUT_MEMBER | (factAfter.test(text) ? FACT_MEMBER : 0);
  };
};

/** Records the first non-null finish reason per choice index, bounded by `MAX_CHOICES`. */
export class FinishReasons {
  readonly #byIndex: (string | undefined)[] = [];

  set(index: number, reason: string | undefined): void {
    if (reason === undefined || index < 0 || index >= MAX_CHOICES || !Number.isInteger(index)) return;
    if (this.#byIndex[index] === undefined) this.#byIndex[index] = reason;
  }

  /** Overwrites (for APIs whose later events refine the reason). */
  replace(index: number, reason: string | undefined): void {
    if (reason === undefined || index < 0 || index >= MAX_CHOICES || !Number.isInteger(index)) return;
    this.#byIndex[index] = reason;
  }

  get size(): number {
    return this.#byIndex.length;
  }

  list(): readonly string[] {
    const out: string[] = [];
    for (const reason of this.#byIndex) if (reason !== undefined) out.push(reason);
    return out;
  }
}

/** `decodeURIComponent` that never throws. */
export const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The path without a trailing slash (query is separate in `RequestTarget`). */
export const trimPath = (path: string): string => {
  const q = path.indexOf('?');
  const bare = q === -1 ? path : path.slice(0, q);
  return bare.length > 1 && bare.endsWith('/') ? bare.slice(0, -1) : bare;
};

/** Copies only the defined members (for `exactOptionalPropertyTypes` records built from optional reads). */
export const definedOnly = <T extends object>(value: { [K in keyof T]?: T[K] | undefined }): T => {
  const out: Record<string, unknown> = {};
  // `for…in` + `Object.hasOwn` visits what `Object.entries` would, without an array per member.
  const source = value as Record<string, unknown>;
  for (const key in source) {
    const member = source[key];
    if (member !== undefined && Object.hasOwn(source, key)) out[key] = member;
  }
  return out as T;
};

/**
 * Which API of the provider a request used (`chat`, `responses`, `converse`…), carried from `parseRequest`
 * to `createParser` on the parsed request under a symbol, so it stays out of serialized records.
 */
export const API: unique symbol = Symbol('llmtap.api');

export type WithApi<T> = T & { readonly [API]?: string };

export const apiOf = (request: object): string | undefined => (request as WithApi<object>)[API];

/** The framing for a response: error bodies are always one JSON body; otherwise by content type. */
export const contentTypeIs = (head: { readonly contentType: string | undefined }, needle: string): boolean =>
  head.contentType?.toLowerCase().includes(needle) === true;

/**
 * The object value of the first member `"key"`, parsed on its own: lets a parser read one small member
 * (a usage object) without parsing a large frame around it. Undefined when absent or not an object.
 */
export const memberObject = (text: string, quotedKey: string): Json | undefined => {
  const [start] = valueStart(text, quotedKey, 0);
  if (start === -1 || text.charCodeAt(start) !== 0x7b /* { */) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return obj(JSON.parse(text.slice(start, i + 1)));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
};
