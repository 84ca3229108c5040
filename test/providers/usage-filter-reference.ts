/**
 * The streaming-usage response filter as it was before its ranges rewrite (providers/stream-usage.ts at
 * 337df40), kept verbatim as the reference for the differential test: the rewrite must give the same bytes.
 */
import type { ResponseFilter } from '../../src/adapter.ts';

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const EMPTY = new Uint8Array(0);

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const USAGE_KEY = ascii('"usage"');
const CHOICES_KEY = ascii('"choices"');
const NULL = ascii('null');

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === LF || b === CR;

/** Last index of `needle` in `haystack` at or before `from`, or -1 (searched backwards, natively per byte). */
const lastIndexOfBytes = (haystack: Uint8Array, needle: Uint8Array, from: number): number => {
  const first = needle[0] ?? 0;
  let at = haystack.lastIndexOf(first, Math.min(from, haystack.length - needle.length));
  while (at !== -1) {
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
    if (at === 0) return -1;
    at = haystack.lastIndexOf(first, at - 1);
  }
  return -1;
};

/**
 * The last member `key` (its key start and value start), or undefined. Searched from the end: OpenAI puts
 * `usage` last (or before `obfuscation`), so the common case touches only the event's tail.
 */
const lastMember = (event: Uint8Array, key: Uint8Array): [number, number] | undefined => {
  let at = lastIndexOfBytes(event, key, event.length);
  while (at !== -1) {
    let i = at + key.length;
    while (isSpace(event[i])) i++;
    if (event[i] === 0x3a /* : */) {
      i++;
      while (isSpace(event[i])) i++;
      return [at, i];
    }
    if (at === 0) return undefined;
    at = lastIndexOfBytes(event, key, at - 1);
  }
  return undefined;
};

const startsWith = (bytes: Uint8Array, at: number, prefix: Uint8Array): boolean => {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
};

/** Undoes the injection on one complete SSE event: drop it, strip `"usage":null`, or keep it as is. */
export const referenceFilterEvent = (event: Uint8Array): Uint8Array => {
  const usage = lastMember(event, USAGE_KEY);
  if (usage === undefined) return event;
  const [keyStart, valueStart] = usage;
  if (event[valueStart] === 0x7b /* { */) {
    const choices = lastMember(event, CHOICES_KEY);
    if (choices === undefined || event[choices[1]] !== 0x5b /* [ */) return event;
    let i = choices[1] + 1;
    while (isSpace(event[i])) i++;
    // The usage-only chunk the option added: `"choices":[]` with a usage object.
    return event[i] === 0x5d /* ] */ ? EMPTY : event;
  }
  if (!startsWith(event, valueStart, NULL)) return event;
  let cutStart = keyStart;
  let cutEnd = valueStart + NULL.length;
  let before = keyStart - 1;
  while (isSpace(event[before])) before--;
  if (event[before] === COMMA) {
    cutStart = before;
  } else {
    // First member: remove the comma after it instead.
    let after = cutEnd;
    while (isSpace(event[after])) after++;
    if (event[after] !== COMMA) return event;
    cutEnd = after + 1;
    while (isSpace(event[cutEnd])) cutEnd++;
  }
  const out = new Uint8Array(event.length - (cutEnd - cutStart));
  out.set(event.subarray(0, cutStart), 0);
  out.set(event.subarray(cutEnd), cutStart);
  return out;
};

const concat = (parts: readonly Uint8Array[], total: number): Uint8Array => {
  if (parts.length === 1) return parts[0] ?? EMPTY;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/**
 * Splits the byte stream into SSE events (an event ends at a blank line: LF LF, CRLF CRLF or CR CR, in any
 * mix) and passes each through `filterEvent`. State across chunks: the held-back partial event and two
 * flags, so memory is bounded by one event.
 */
export class ReferenceUsageFilter implements ResponseFilter {
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #atLineStart = true;
  #afterCR = false;
  /** The event ended at a CR; a directly following LF still belongs to it. */
  #endedAtCR = false;

  /** Filtered events of the current `push`, reused across calls. */
  readonly #out: Uint8Array[] = [];
  #outBytes = 0;

  #emit(event: Uint8Array): void {
    const filtered = referenceFilterEvent(event);
    if (filtered.length > 0) {
      this.#out.push(filtered);
      this.#outBytes += filtered.length;
    }
  }

  #take(chunk: Uint8Array, start: number, end: number): Uint8Array {
    if (this.#held.length === 0) return chunk.subarray(start, end);
    this.#held.push(chunk.subarray(start, end));
    const event = concat(this.#held, this.#heldBytes + (end - start));
    this.#held = [];
    this.#heldBytes = 0;
    return event;
  }

  push(chunk: Uint8Array): Uint8Array {
    let start = 0;
    // Streams almost never use CR: then jump from line feed to line feed natively instead of per byte.
    const noCR = chunk.indexOf(CR) === -1;
    let i = 0;
    while (i < chunk.length) {
      if (noCR && !this.#endedAtCR && !this.#afterCR) {
        const lf = chunk.indexOf(LF, i);
        if (lf === -1) {
          this.#atLineStart = false;
          break;
        }
        if (lf > i) this.#atLineStart = false;
        if (this.#atLineStart) {
          this.#emit(this.#take(chunk, start, lf + 1));
          start = lf + 1;
        }
        this.#atLineStart = true;
        i = lf + 1;
        continue;
      }
      const b = chunk[i];
      i++;
      if (this.#endedAtCR) {
        this.#endedAtCR = false;
        const end = b === LF ? i : i - 1;
        this.#emit(this.#take(chunk, start, end));
        start = end;
        this.#atLineStart = true;
        this.#afterCR = false;
        if (b === LF) continue;
      }
      if (b === LF) {
        if (this.#afterCR) {
          this.#afterCR = false;
          continue;
        }
        if (this.#atLineStart) {
          this.#emit(this.#take(chunk, start, i));
          start = i;
        }
        this.#atLineStart = true;
      } else if (b === CR) {
        if (this.#atLineStart) {
          this.#endedAtCR = true;
        } else {
          this.#atLineStart = true;
          this.#afterCR = true;
        }
      } else {
        this.#atLineStart = false;
        this.#afterCR = false;
      }
    }
    if (start < chunk.length) {
      // Copy: the caller may reuse its buffer after this call.
      this.#held.push(chunk.slice(start));
      this.#heldBytes += chunk.length - start;
    }
    const out = this.#out;
    if (out.length === 0) return EMPTY;
    const first = out[0];
    const result = out.length === 1 && first !== undefined ? first : concat(out, this.#outBytes);
    out.length = 0;
    this.#outBytes = 0;
    return result;
  }

  flush(): Uint8Array {
    this.#endedAtCR = false;
    if (this.#held.length === 0) return EMPTY;
    const event = concat(this.#held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    return referenceFilterEvent(event);
  }
}
