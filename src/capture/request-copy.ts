/**
 * The capture's copy of one request body, bounded twice: per call (`limits.maxFrameBytes`) and across all
 * in-flight calls of one tap factory (`limits.maxRequestCopyTotalBytes`), so that many stalled uploads cannot
 * hold more than the shared budget between them. A copy cut by either bound keeps its prefix: the members sent
 * before the cut can still be read (see `readRequestBody`).
 *
 * A body that arrives as one chunk (the usual case: bodies up to the read-ahead are sent as one buffer) is held
 * by reference, not copied: chunks are never written to after they were sent, and the copy is released as soon
 * as the request has been read. A second chunk copies what is held and goes on copying (#15: the copy was
 * per-call garbage). A chunk whose memory is a small part of a much larger buffer is copied, so holding it never
 * keeps more than its own size (plus a little) alive.
 */
import { asBuffer, ByteAccumulator } from '../framing/bytes.ts';

/** The request-copy bytes held by all in-flight calls of one factory. */
export interface RequestCopyBudget {
  used: number;
  readonly max: number;
}

const EMPTY = Buffer.alloc(0);
/** What a chunk held by reference may keep alive beyond its own bytes (the rest of its buffer). */
const MAX_HELD_SLACK = 4096;

export class RequestCopy {
  readonly #budget: RequestCopyBudget;
  readonly #maxBytes: number;
  /** The one chunk held by reference (its first `#heldLength` bytes), until a second arrives. */
  #held: Uint8Array | undefined = undefined;
  #heldLength = 0;
  #bytes: ByteAccumulator | undefined = undefined;
  #released = false;
  /** Bytes of the shared budget this copy holds; given back by `release`. */
  #reserved = 0;
  /** A bound cut the copy: what follows the cut is not kept. */
  truncated = false;

  constructor(budget: RequestCopyBudget, maxBytes: number) {
    this.#budget = budget;
    this.#maxBytes = maxBytes;
  }

  append(chunk: Uint8Array): void {
    if (this.#released || this.truncated) return;
    const budget = this.#budget;
    const room = Math.min(this.#maxBytes - this.#reserved, budget.max - budget.used);
    const taken = Math.max(0, Math.min(room, chunk.length));
    budget.used += taken;
    this.#reserved += taken;
    if (chunk.length > room) this.truncated = true;
    if (taken === 0) return;
    if (this.#reserved === taken && chunk.buffer.byteLength <= taken + MAX_HELD_SLACK) {
      // The first bytes: held as they are.
      this.#held = chunk;
      this.#heldLength = taken;
      return;
    }
    let bytes = this.#bytes;
    if (bytes === undefined) {
      bytes = new ByteAccumulator();
      this.#bytes = bytes;
      const held = this.#held;
      if (held !== undefined) {
        bytes.append(held, 0, this.#heldLength);
        this.#held = undefined;
      }
    }
    bytes.append(chunk, 0, taken);
  }

  /** The bytes copied so far; undefined once released. */
  view(): Buffer | undefined {
    if (this.#released) return undefined;
    if (this.#bytes !== undefined) return this.#bytes.view();
    const held = this.#held;
    if (held === undefined) return EMPTY;
    const buffer = asBuffer(held);
    return this.#heldLength === buffer.length ? buffer : buffer.subarray(0, this.#heldLength);
  }

  /** Drops the copy and gives its share of the budget back; safe to call more than once. */
  release(): void {
    this.#released = true;
    this.#held = undefined;
    this.#bytes = undefined;
    this.#budget.used -= this.#reserved;
    this.#reserved = 0;
  }
}
