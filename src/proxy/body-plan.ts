/**
 * How the forwarder reads a request body before dispatch, decided from its headers alone: not at all, whole
 * (one upstream write, and what usage injection needs), a bounded prefix of a chunked body, or streamed as it
 * arrives. The reading itself is in `read-ahead.ts`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Limits } from '../config/schema.ts';

/** Request bodies up to this size are read whole before dispatch: one write upstream, cheaper than a stream. */
export const BUFFER_BODY_BELOW = 256 * 1024;

export type BodyPlan =
  /** No body: dispatch at once. */
  | { readonly read: 'none' }
  /** A declared length small enough to hold: read it all, then dispatch one buffer. */
  | { readonly read: 'whole'; readonly length: number }
  /**
   * Chunked: read up to `cap` first, so bad chunked encoding in a small body never starts an upstream request
   * (the parser answers 400); a body that ends within the cap is re-framed with a Content-Length.
   */
  | { readonly read: 'chunked-prefix'; readonly cap: number }
  /** Too large to hold: stream it upstream as it arrives. */
  | { readonly read: 'stream' };

const NONE: BodyPlan = { read: 'none' };
const STREAM: BodyPlan = { read: 'stream' };

/**
 * How much of the body this request needs whole before dispatch: a rewrite (usage injection) needs up to
 * `limits.maxInjectBodyBytes`, a re-signed request up to `limits.maxSignedBodyBytes` (its SHA-256 is signed);
 * others only the read-ahead.
 */
export const readAheadBytes = (limits: Limits, rewrites: boolean, signs: boolean): number =>
  Math.max(
    BUFFER_BODY_BELOW,
    rewrites ? limits.maxInjectBodyBytes : 0,
    signs ? limits.maxSignedBodyBytes : 0,
  );

/** `cap`: bodies up to this size are read whole (see `readAheadBytes`). */
export const planRequestBody = (headers: IncomingHttpHeaders, cap: number): BodyPlan => {
  const contentLength = headers['content-length'];
  if (contentLength === undefined)
    return headers['transfer-encoding'] === undefined ? NONE : { read: 'chunked-prefix', cap };
  const length = Number(contentLength);
  if (!(length > 0)) return NONE;
  return length <= cap ? { read: 'whole', length } : STREAM;
};
