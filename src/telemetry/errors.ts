/** Typed errors of the telemetry module; `code` is stable and safe to match on. */

export type TelemetryErrorCode =
  /** An OTEL_* / LLMTAP_* telemetry environment variable has a value llmtap cannot use. */
  | 'LLMTAP_TELEMETRY_ENV_INVALID'
  /** The `LLMTAP_PRICES` file cannot be read or does not match the price-file schema. */
  | 'LLMTAP_PRICES_INVALID';

export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
  readonly code: TelemetryErrorCode;
  constructor(code: TelemetryErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
