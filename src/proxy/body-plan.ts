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
 * `injecting`: the route may rewrite this request (usage injection), which needs the whole body, up to
 * `limits.maxInjectBodyBytes` rather than the read-ahead size.
 */
export const planRequestBody = (
  headers: IncomingHttpHeaders,
  injecting: boolean,
  limits: Limits,
): BodyPlan => {
  const contentLength = headers['content-length'];
  const cap = Math.max(BUFFER_BODY_BELOW, injecting ? limits.maxInjectBodyBytes : 0);
  if (contentLength === undefined)
    return headers['transfer-encoding'] === undefined ? NONE : { read: 'chunked-prefix', cap };
  const length = Number(contentLength);
  if (!(length > 0)) return NONE;
  return length <= cap ? { read: 'whole', length } : STREAM;
};
