/**
 * Streams through a JSON object too large to hold and keeps only its small top-level members, as raw text.
 * The JSON body decoder falls back to it when a body outgrows `maxFrameBytes`: a large embeddings answer
 * is mostly `data` (the vectors), while the facts (`model`, `usage`) are small members — often after it.
 *
 * Like the JSON array scanner, it tracks only depth and string/escape state; kept members are validated
 * later by the adapter's `JSON.parse` of the result. Memory: the member being read (≤ `maxMemberBytes`)
 * plus the kept members (≤ `maxKeptBytes` in total); anything beyond is skipped, not buffered.
 */
import { ByteAccumulator } from './bytes.ts';
import {
  BACKSLASH,
  CLOSE_BRACE,
  COLON,
  COMMA,
  isWhitespace,
  newValueScan,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  scanValue,
  startValue,
  type ValueScan,
} from './json-scan.ts';

/** Members larger than this are skipped: facts live in small members, bulk (vectors, messages) in big ones. */
export const SMALL_MEMBER_BYTES = 64 * 1024;

type Phase =
  | 'start'
  /** After `{` or `,`: a key (or `}` right after `{`). */
  | 'key'
  | 'in-key'
  | 'colon'
  /** After the colon: the value's first byte. */
  | 'value'
  | 'in-value'
  /** After a value: `,` or `}`. */
  | 'next'
  | 'done'
  | 'broken';

export class JsonMemberSkimmer {
  readonly #maxMember: number;
  readonly #maxKept: number;
  /** Raw text of the member being read: `"key":value`. */
  readonly #member = new ByteAccumulator();
  /** Raw text of the kept members, comma-separated. */
  readonly #kept = new ByteAccumulator();
  #phase: Phase = 'start';
  #skipping = false;
  /** The value being scanned; its `escaped` flag also serves the key string. */
  readonly #value: ValueScan = newValueScan();
  /** Members seen (kept or dropped): a `}` where a key is expected is valid only before the first. */
  #seen = 0;

  constructor(maxMemberBytes: number, maxKeptBytes: number) {
    this.#maxMember = maxMemberBytes;
    this.#maxKept = maxKeptBytes;
  }

  get bufferedBytes(): number {
    return this.#member.length + this.#kept.length;
  }

  push(buf: Uint8Array): void {
    const n = buf.length;
    let i = 0;
    // Start of the current member's bytes in this chunk, or -1 when none is open.
    let memberStart =
      this.#phase === 'in-key' ||
      this.#phase === 'colon' ||
      this.#phase === 'value' ||
      this.#phase === 'in-value'
        ? 0
        : -1;
    while (i < n) {
      const b = buf[i];
      switch (this.#phase) {
        case 'start':
          if (b === OPEN_BRACE) this.#phase = 'key';
          else if (!isWhitespace(b) && b !== 0xef && b !== 0xbb && b !== 0xbf) this.#phase = 'broken';
          i++;
          break;
        case 'key':
          if (b === QUOTE) {
            this.#phase = 'in-key';
            this.#skipping = false;
            this.#value.escaped = false;
            memberStart = i;
          } else if (b === CLOSE_BRACE && this.#seen === 0) this.#phase = 'done';
          else if (!isWhitespace(b)) this.#phase = 'broken';
          i++;
          break;
        case 'in-key':
          if (this.#value.escaped) this.#value.escaped = false;
          else if (b === BACKSLASH) this.#value.escaped = true;
          else if (b === QUOTE) this.#phase = 'colon';
          i++;
          break;
        case 'colon':
          if (b === COLON) this.#phase = 'value';
          else if (!isWhitespace(b)) this.#phase = 'broken';
          i++;
          break;
        case 'value':
          if (isWhitespace(b)) {
            i++;
            break;
          }
          this.#phase = 'in-value';
          startValue(this.#value, b !== OPEN_BRACE && b !== OPEN_BRACKET);
          break;
        case 'in-value': {
          const end = this.#scanValue(buf, i, n);
          if (end === -1) {
            this.#keepMember(buf, memberStart, n);
            return;
          }
          this.#keepMember(buf, memberStart, end);
          this.#closeMember();
          memberStart = -1;
          this.#phase = 'next';
          i = end;
          break;
        }
        case 'next':
          if (b === COMMA) this.#phase = 'key';
          else if (b === CLOSE_BRACE) this.#phase = 'done';
          else if (!isWhitespace(b)) this.#phase = 'broken';
          i++;
          break;
        case 'done':
        case 'broken':
          return;
      }
    }
    if (memberStart !== -1) this.#keepMember(buf, memberStart, n);
  }

  /** The kept members as one JSON object text, or undefined when the body was not a complete object. */
  end(): string | undefined {
    const done = this.#phase === 'done';
    const text = done ? `{${this.#kept.text()}}` : undefined;
    this.#member.clear();
    this.#kept.clear();
    this.#phase = 'broken';
    return text;
  }

  /** Index just past the value, or -1 when it continues past `n`. */
  #scanValue(buf: Uint8Array, i: number, n: number): number {
    return scanValue(this.#value, buf, i, n, CLOSE_BRACE);
  }

  #keepMember(buf: Uint8Array, start: number, end: number): void {
    if (this.#skipping || start < 0) return;
    const length = this.#member.length + (end - start);
    // One bound for everything held: the member being read plus the ones kept (and a comma).
    if (length > this.#maxMember || this.#kept.length + length + 1 > this.#maxKept) {
      this.#skipping = true;
      this.#member.clear();
      return;
    }
    this.#member.append(buf, start, end);
  }

  #closeMember(): void {
    this.#seen += 1;
    if (this.#skipping) {
      this.#skipping = false;
      return;
    }
    if (this.#kept.length > 0) this.#kept.append(COMMA_BYTES, 0, 1);
    this.#kept.append(this.#member.view(), 0, this.#member.length);
    this.#member.clear();
  }
}

const COMMA_BYTES = new Uint8Array([COMMA]);
