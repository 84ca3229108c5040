/**
 * The tap boundary. Wraps an observer so that (1) an exception in it is caught, reported once and the
 * observer is switched off for the rest of the call, and (2) each body's copy stops at the byte budget
 * while forwarding goes on.
 */
import type { CallEnd, CallLogFields, CallTap } from './tap.ts';

export const guardTap = (tap: CallTap, onError: (error: unknown) => void, maxCopyBytes: number): CallTap => {
  let failed = false;
  let requestCopied = 0;
  let responseCopied = 0;
  let truncated = false;
  const fail = (error: unknown): void => {
    if (!failed) {
      failed = true;
      onError(error);
    }
  };
  return {
    upstreamHeaders: tap.upstreamHeaders,
    rewritesRequest: tap.rewritesRequest,
    rewriteRequest(body) {
      if (failed) return undefined;
      try {
        return tap.rewriteRequest?.(body);
      } catch (error) {
        fail(error);
        return undefined;
      }
    },
    requestBody(chunk) {
      if (failed) return;
      if (requestCopied + chunk.length > maxCopyBytes) {
        truncated = true;
        const room = maxCopyBytes - requestCopied;
        if (room <= 0) return;
        chunk = chunk.subarray(0, room);
      }
      requestCopied += chunk.length;
      try {
        tap.requestBody(chunk);
      } catch (error) {
        fail(error);
      }
    },
    requestEnd() {
      if (failed) return;
      try {
        tap.requestEnd();
      } catch (error) {
        fail(error);
      }
    },
    upstreamRequestSent(at) {
      if (failed) return;
      try {
        tap.upstreamRequestSent(at);
      } catch (error) {
        fail(error);
      }
    },
    responseHead(status, headers, at) {
      if (failed) return;
      try {
        tap.responseHead(status, headers, at);
      } catch (error) {
        fail(error);
      }
    },
    responseBody(chunk, at) {
      if (failed) return;
      if (responseCopied + chunk.length > maxCopyBytes) {
        truncated = true;
        const room = maxCopyBytes - responseCopied;
        if (room <= 0) return;
        chunk = chunk.subarray(0, room);
      }
      responseCopied += chunk.length;
      try {
        tap.responseBody(chunk, at);
      } catch (error) {
        fail(error);
      }
    },
    clientFirstByte(at) {
      if (failed) return;
      try {
        tap.clientFirstByte(at);
      } catch (error) {
        fail(error);
      }
    },
    end(result: CallEnd) {
      // Even a failed observer gets end(): it owns resources (a span) that must be closed.
      try {
        const fields = tap.end({ ...result, copyTruncated: result.copyTruncated || truncated });
        if (fields instanceof Promise) {
          return fields.catch((error: unknown): CallLogFields | undefined => {
            fail(error);
            return undefined;
          });
        }
        return fields;
      } catch (error) {
        fail(error);
        return undefined;
      }
    },
  };
};
