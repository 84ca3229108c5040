/** Typed errors of the capture pipeline, handed to `onError`; `code` is stable and safe to log or count. */

export type CaptureErrorCode =
  | 'UNSUPPORTED_CONTENT_ENCODING'
  | 'CONTENT_DECODING_FAILED'
  | 'ADAPTER_FAILED'
  | 'FRAMING_FAILED'
  | 'OBSERVER_FAILED';

export class CaptureError extends Error {
  readonly code: CaptureErrorCode;

  constructor(code: CaptureErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CaptureError';
    this.code = code;
  }
}
