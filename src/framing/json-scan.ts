/**
 * The byte-level JSON value scanner shared by the JSON-array stream decoder, the large-body member skimmer
 * and the request skimmer: it tracks only nesting depth and string/escape state, so brackets inside strings
 * never confuse it, and leaves validation to the `JSON.parse` of what it cut out.
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;

export const isWhitespace = (b: number | undefined): boolean =>
  b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Where the scan of one value stands between chunks. */
export interface ValueScan {
  depth: number;
  inString: boolean;
  escaped: boolean;
  /** A scalar (number, literal, string) ends at the next `,`, closer or whitespace at depth 0. */
  scalar: boolean;
}

export const newValueScan = (): ValueScan => ({ depth: 0, inString: false, escaped: false, scalar: false });

/** Starts scanning a new value (`scalar` when its first byte is not `{` or `[`). */
export const startValue = (scan: ValueScan, scalar: boolean): void => {
  scan.depth = 0;
  scan.inString = false;
  scan.escaped = false;
  scan.scalar = scalar;
};

/**
 * Scans value bytes from `i`; returns the index just past the value's end, or -1 when it goes on past `n`.
 * `closer` is the enclosing container's closing byte (`]` in an array, `}` in an object), which ends a scalar.
 */
export const scanValue = (scan: ValueScan, buf: Uint8Array, i: number, n: number, closer: number): number => {
  let depth = scan.depth;
  let inString = scan.inString;
  let escaped = scan.escaped;
  const scalar = scan.scalar;
  for (; i < n; i++) {
    const b = buf[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) {
        inString = false;
        if (scalar && depth === 0) return i + 1;
      }
    } else if (b === QUOTE) inString = true;
    else if (scalar) {
      if (b === COMMA || b === closer || isWhitespace(b)) return i;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth += 1;
    else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  scan.depth = depth;
  scan.inString = inString;
  scan.escaped = escaped;
  return -1;
};
