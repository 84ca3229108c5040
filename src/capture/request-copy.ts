/**
 * The capture's copy of one request body, bounded twice: per call (`limits.maxFrameBytes`) and across all
 * in-flight calls of one tap factory (`limits.maxRequestCopyTotalBytes`), so that many stalled uploads cannot
 * hold more than the shared budget between them. A copy cut by either bound keeps its prefix: the members sent
 * before the cut can still be read (see `readRequestBody`).
 */
import { ByteAccumulator } from '../framing/bytes.ts';

/** The request-copy bytes held by all in-flight calls of one factory. */
export interface RequestCopyBudget {
  used: number;
  readonly max: number;
}

export class RequestCopy {
  readonly #budget: RequestCopyBudget;
  readonly #maxBytes: number;
  #bytes: ByteAccumulator | undefined = new ByteAccumulator();
  /** Bytes of the shared budget this copy holds; given back by `release`. */
  #reserved = 0;
  /** A bound cut the copy: what follows the cut is not kept. */
  truncated = false;

  constructor(budget: RequestCopyBudget, maxBytes: number) {
    this.#budget = budget;
    this.#maxBytes = maxBytes;
  }

  append(chunk: Uint8Array): void {
    const bytes = this.#bytes;
    if (bytes === undefined || this.truncated) return;
    const budget = this.#budget;
    const room = Math.min(this.#maxBytes - bytes.length, budget.max - budget.used);
    const taken = Math.max(0, Math.min(room, chunk.length));
    budget.used += taken;
    this.#reserved += taken;
    if (chunk.length > room) {
      this.truncated = true;
      if (taken > 0) bytes.append(chunk, 0, taken);
      return;
    }
    bytes.append(chunk, 0, chunk.length);
  }

  /** The bytes copied so far; undefined once released. */
  view(): Buffer | undefined {
    return this.#bytes?.view();
  }

  /** Drops the copy and gives its share of the budget back; safe to call more than once. */
  release(): void {
    this.#bytes = undefined;
    this.#budget.used -= this.#reserved;
    this.#reserved = 0;
  }
}
