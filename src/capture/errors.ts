/**
 * Typed errors of the capture pipeline, handed to `onError`; `code` is stable and safe to log or count.
 *
 * Errors thrown by code that handles bodies (adapters, parsers) are wrapped before they are reported:
 * their messages can quote the data they choked on (V8's JSON `SyntaxError` does), and prompt or output
 * text must never reach a log line unless content capture is on. Only messages V8 writes about code
 * (TypeError, ReferenceError, RangeError: property names, not payloads) are kept; the original error stays
 * reachable as `cause` for a debugger, and is never serialised by the logger.
 */
import { LlmtapError, type ObservationErrorCode } from '../errors.ts';

export type CaptureErrorCode = ObservationErrorCode;

export class CaptureError extends LlmtapError<ObservationErrorCode> {
  override readonly name: string = 'CaptureError';

  constructor(code: ObservationErrorCode, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

const codeErrors: readonly string[] = ['TypeError', 'ReferenceError', 'RangeError'];

/** `error` as a CaptureError whose message names where it happened but never quotes data. */
export const wrapError = (code: CaptureErrorCode, where: string, error: unknown): CaptureError => {
  if (error instanceof CaptureError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  const detail =
    error instanceof Error && codeErrors.includes(error.name) ? `: ${error.message.slice(0, 160)}` : '';
  return new CaptureError(code, `${where} threw ${name}${detail}`, error);
};
