/** Typed errors of the telemetry module: start-up errors from the catalogue (`src/errors.ts`). */
import { type ErrorCode, LlmtapError } from '../errors.ts';

export type TelemetryErrorCode = Extract<ErrorCode, 'LLMTAP_TELEMETRY_ENV_INVALID' | 'LLMTAP_PRICES_INVALID'>;

export class TelemetryConfigError extends LlmtapError<TelemetryErrorCode> {
  override readonly name: string = 'TelemetryConfigError';
}
