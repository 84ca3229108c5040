/**
 * The tap boundary. Wraps an observer so that (1) an exception in it is caught, reported once and the
 * observer is switched off for the rest of the call, and (2) each body's copy stops at the byte budget
 * while forwarding goes on.
 *
 * A class rather than an object of closures: one object per call with its methods on the prototype, instead
 * of ten closures and their shared context allocated per call (#15: per-call garbage is GC work at load).
 */
import type { CallEnd, CallLogFields, CallTap, RequestRewrite } from './tap.ts';

class GuardedTap implements CallTap {
  readonly upstreamHeaders: Readonly<Record<string, string>> | undefined;
  readonly rewritesRequest: boolean | undefined;
  readonly #tap: CallTap;
  readonly #onError: (error: unknown) => void;
  readonly #maxCopyBytes: number;
  #failed = false;
  #requestCopied = 0;
  #responseCopied = 0;
  #truncated = false;

  constructor(tap: CallTap, onError: (error: unknown) => void, maxCopyBytes: number) {
    this.#tap = tap;
    this.#onError = onError;
    this.#maxCopyBytes = maxCopyBytes;
    this.upstreamHeaders = tap.upstreamHeaders;
    this.rewritesRequest = tap.rewritesRequest;
  }

  #fail(error: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#onError(error);
    }
  }

  rewriteRequest(body: Buffer): RequestRewrite | undefined {
    if (this.#failed) return undefined;
    try {
      return this.#tap.rewriteRequest?.(body);
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  requestBody(chunk: Uint8Array): void {
    if (this.#failed) return;
    if (this.#requestCopied + chunk.length > this.#maxCopyBytes) {
      this.#truncated = true;
      const room = this.#maxCopyBytes - this.#requestCopied;
      if (room <= 0) return;
      chunk = chunk.subarray(0, room);
    }
    this.#requestCopied += chunk.length;
    try {
      this.#tap.requestBody(chunk);
    } catch (error) {
      this.#fail(error);
    }
  }

  requestEnd(): void {
    if (this.#failed) return;
    try {
      this.#tap.requestEnd();
    } catch (error) {
      this.#fail(error);
    }
  }

  upstreamRequestSent(at: number): void {
    if (this.#failed) return;
    try {
      this.#tap.upstreamRequestSent(at);
    } catch (error) {
      this.#fail(error);
    }
  }

  responseHead(status: number, headers: Readonly<Record<string, string>>, at: number): void {
    if (this.#failed) return;
    try {
      this.#tap.responseHead(status, headers, at);
    } catch (error) {
      this.#fail(error);
    }
  }

  responseBody(chunk: Uint8Array, at: number): void {
    if (this.#failed) return;
    if (this.#responseCopied + chunk.length > this.#maxCopyBytes) {
      this.#truncated = true;
      const room = this.#maxCopyBytes - this.#responseCopied;
      if (room <= 0) return;
      chunk = chunk.subarray(0, room);
    }
    this.#responseCopied += chunk.length;
    try {
      this.#tap.responseBody(chunk, at);
    } catch (error) {
      this.#fail(error);
    }
  }

  clientFirstByte(at: number): void {
    if (this.#failed) return;
    try {
      this.#tap.clientFirstByte(at);
    } catch (error) {
      this.#fail(error);
    }
  }

  end(result: CallEnd): CallLogFields | Promise<CallLogFields | undefined> | undefined {
    // Even a failed observer gets end(): it owns resources (a span) that must be closed.
    try {
      const fields = this.#tap.end(
        this.#truncated && !result.copyTruncated ? { ...result, copyTruncated: true } : result,
      );
      if (fields instanceof Promise) {
        return fields.catch((error: unknown): CallLogFields | undefined => {
          this.#fail(error);
          return undefined;
        });
      }
      return fields;
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }
}

export const guardTap = (tap: CallTap, onError: (error: unknown) => void, maxCopyBytes: number): CallTap =>
  new GuardedTap(tap, onError, maxCopyBytes);
