/**
 * Streaming usage for OpenAI-dialect chat: ask the upstream for `stream_options.include_usage` when the
 * client did not, and remove from the client's copy exactly what that option adds — the final
 * `"choices":[]` usage chunk and the `"usage":null` member of every other chunk — so the client receives
 * the stream it asked for.
 *
 * The filter works on the identity-encoded SSE bytes: it holds back at most the current event (events are
 * small) and passes every other byte through untouched. It never decodes text or parses JSON: the member
 * checks are byte scans over one event.
 *
 * Size: the filter is one state machine over byte ranges (event boundaries across chunks, the kept ranges of
 * a push, the two cuts); split, its invariants would span files. The request patch is the small rest.
 */
import type { ResponseFilter, StreamUsageInjection } from '../src/adapter.ts';
import { obj } from './common.ts';

export const INCLUDE_USAGE_MEMBER = '"stream_options":{"include_usage":true},';

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const EMPTY = new Uint8Array(0);

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const USAGE_KEY = ascii('"usage"');
const CHOICES_KEY = ascii('"choices"');
const NULL = ascii('null');

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === LF || b === CR;

/**
 * Last index of `needle` in `bytes[min, end)` starting at or before `from`, or -1 (searched backwards, natively
 * per byte).
 */
const lastIndexOfBytes = (
  bytes: Uint8Array,
  needle: Uint8Array,
  min: number,
  end: number,
  from: number,
): number => {
  const last = Math.min(from, end - needle.length);
  // Also keeps a negative start out of lastIndexOf, which would count it from the end of `bytes`.
  if (last < min) return -1;
  const first = needle[0] ?? 0;
  let at = bytes.lastIndexOf(first, last);
  while (at >= min) {
    let i = 1;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
    if (at === min) return -1;
    at = bytes.lastIndexOf(first, at - 1);
  }
  return -1;
};

/** `bytes[i]` inside the event `[min, end)`, undefined outside it. */
const byteIn = (bytes: Uint8Array, i: number, min: number, end: number): number | undefined =>
  i >= min && i < end ? bytes[i] : undefined;

/** Where `lastMember` found its member: the key's start and the value's start. */
let memberKey = 0;
let memberValue = 0;

/**
 * The last member `key` of the event `bytes[min, end)` (its key start and value start in `memberKey` and
 * `memberValue`), or false. Searched from the end: OpenAI puts `usage` last (or before `obfuscation`), so the
 * common case touches only the event's tail.
 */
const lastMember = (bytes: Uint8Array, min: number, end: number, key: Uint8Array): boolean => {
  let at = lastIndexOfBytes(bytes, key, min, end, end);
  while (at !== -1) {
    let i = at + key.length;
    while (isSpace(byteIn(bytes, i, min, end))) i++;
    if (byteIn(bytes, i, min, end) === 0x3a /* : */) {
      i++;
      while (isSpace(byteIn(bytes, i, min, end))) i++;
      memberKey = at;
      memberValue = i;
      return true;
    }
    if (at === min) return false;
    at = lastIndexOfBytes(bytes, key, min, end, at - 1);
  }
  return false;
};

const startsWith = (bytes: Uint8Array, at: number, end: number, prefix: Uint8Array): boolean => {
  for (let i = 0; i < prefix.length; i++) {
    if (at + i >= end || bytes[at + i] !== prefix[i]) return false;
  }
  return true;
};

/** `eventCut` verdicts; a cut is `[cutStart, cutEnd)`. */
const KEEP = 0;
const DROP = 1;
const CUT = 2;
let cutStart = 0;
let cutEnd = 0;

/**
 * What undoing the injection does to the complete SSE event `bytes[min, end)`: keep it, drop it (the usage chunk
 * the option added), or cut `"usage":null` out of it (`[cutStart, cutEnd)`).
 */
const eventCut = (bytes: Uint8Array, min: number, end: number): number => {
  if (!lastMember(bytes, min, end, USAGE_KEY)) return KEEP;
  const keyStart = memberKey;
  const valueStart = memberValue;
  if (byteIn(bytes, valueStart, min, end) === 0x7b /* { */) {
    if (!lastMember(bytes, min, end, CHOICES_KEY) || byteIn(bytes, memberValue, min, end) !== 0x5b /* [ */) {
      return KEEP;
    }
    let i = memberValue + 1;
    while (isSpace(byteIn(bytes, i, min, end))) i++;
    // The usage-only chunk the option added: `"choices":[]` with a usage object.
    return byteIn(bytes, i, min, end) === 0x5d /* ] */ ? DROP : KEEP;
  }
  if (!startsWith(bytes, valueStart, end, NULL)) return KEEP;
  let from = keyStart;
  let to = valueStart + NULL.length;
  let before = keyStart - 1;
  while (isSpace(byteIn(bytes, before, min, end))) before--;
  if (byteIn(bytes, before, min, end) === COMMA) {
    from = before;
  } else {
    // First member: remove the comma after it instead.
    let after = to;
    while (isSpace(byteIn(bytes, after, min, end))) after++;
    if (byteIn(bytes, after, min, end) !== COMMA) return KEEP;
    to = after + 1;
    while (isSpace(byteIn(bytes, to, min, end))) to++;
  }
  cutStart = from;
  cutEnd = to;
  return CUT;
};

/** Undoes the injection on one complete SSE event: drop it, strip `"usage":null`, or keep it as is. */
export const filterEvent = (event: Uint8Array): Uint8Array => {
  const verdict = eventCut(event, 0, event.length);
  if (verdict === KEEP) return event;
  if (verdict === DROP) return EMPTY;
  const out = new Uint8Array(event.length - (cutEnd - cutStart));
  out.set(event.subarray(0, cutStart), 0);
  out.set(event.subarray(cutEnd), cutStart);
  return out;
};

const concat = (parts: readonly Uint8Array[], total: number): Uint8Array => {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** Copies `source[start, end)` to `target` at `at`; short ranges by hand, sparing a subarray view. */
const copyRange = (target: Uint8Array, at: number, source: Uint8Array, start: number, end: number): void => {
  if (end - start <= 32) {
    for (let i = start, j = at; i < end; i++, j++) target[j] = source[i] as number;
  } else {
    target.set(source.subarray(start, end), at);
  }
};

/**
 * Splits the byte stream into SSE events (an event ends at a blank line: LF LF, CRLF CRLF or CR CR, in any
 * mix) and undoes the injection on each (`eventCut`). State across chunks: the held-back partial event and two
 * flags, so memory is bounded by one event.
 *
 * Per push, the kept byte ranges are noted (adjacent ones merged) and copied once into one output: no array per
 * event. A chunk left whole goes out as it came, a single range as a view of it.
 */
export class UsageFilter implements ResponseFilter {
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #atLineStart = true;
  #afterCR = false;
  /** The event ended at a CR; a directly following LF still belongs to it. */
  #endedAtCR = false;

  /** The kept ranges of the current `push`: source buffer and bounds, reused across calls. */
  readonly #sources: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #outBytes = 0;

  #keep(source: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    const last = this.#sources.length - 1;
    if (last >= 0 && this.#sources[last] === source && this.#ends[last] === start) {
      this.#ends[last] = end;
    } else {
      this.#sources.push(source);
      this.#starts.push(start);
      this.#ends.push(end);
    }
    this.#outBytes += end - start;
  }

  /** The complete event `source[start, end)`, less what the injection added. */
  #event(source: Uint8Array, start: number, end: number): void {
    const verdict = eventCut(source, start, end);
    if (verdict === KEEP) {
      this.#keep(source, start, end);
    } else if (verdict === CUT) {
      const from = cutStart;
      const to = cutEnd;
      this.#keep(source, start, from);
      this.#keep(source, to, end);
    }
  }

  /** The event ending at `chunk[end)`: whole in the chunk, or completing what was held back. */
  #take(chunk: Uint8Array, start: number, end: number): void {
    if (this.#held.length === 0) {
      this.#event(chunk, start, end);
      return;
    }
    this.#held.push(chunk.subarray(start, end));
    const event = concat(this.#held, this.#heldBytes + (end - start));
    this.#held = [];
    this.#heldBytes = 0;
    this.#event(event, 0, event.length);
  }

  #output(chunk: Uint8Array): Uint8Array {
    const sources = this.#sources;
    const count = sources.length;
    let out: Uint8Array;
    if (count === 0) {
      out = EMPTY;
    } else if (count === 1) {
      const source = sources[0] as Uint8Array;
      const start = this.#starts[0] as number;
      const end = this.#ends[0] as number;
      out = source === chunk && start === 0 && end === chunk.length ? chunk : source.subarray(start, end);
    } else {
      const joined = new Uint8Array(this.#outBytes);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const start = this.#starts[i] as number;
        const end = this.#ends[i] as number;
        copyRange(joined, offset, sources[i] as Uint8Array, start, end);
        offset += end - start;
      }
      out = joined;
    }
    sources.length = 0;
    this.#starts.length = 0;
    this.#ends.length = 0;
    this.#outBytes = 0;
    return out;
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
          this.#take(chunk, start, lf + 1);
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
        this.#take(chunk, start, end);
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
          this.#take(chunk, start, i);
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
    return this.#output(chunk);
  }

  flush(): Uint8Array {
    this.#endedAtCR = false;
    if (this.#held.length === 0) return EMPTY;
    const event = concat(this.#held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    return filterEvent(event);
  }
}

/** OpenAI-dialect chat: patch streaming chat requests that did not choose `stream_options` themselves. */
export const openAiStreamUsage: StreamUsageInjection = {
  patchRequest(body: unknown): string | undefined {
    const request = obj(body);
    if (request === undefined || request.stream !== true || !Array.isArray(request.messages))
      return undefined;
    // A client that set `stream_options` (even without include_usage, or null) made its own choice:
    // adding a second member would duplicate the key, so leave the request alone.
    if (Object.hasOwn(request, 'stream_options')) return undefined;
    return INCLUDE_USAGE_MEMBER;
  },
  createResponseFilter: () => new UsageFilter(),
};
