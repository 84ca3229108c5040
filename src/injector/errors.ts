/** Errors the injector raises at start-up (codes from `src/errors.ts`); a review never throws to the API server. */
import { type ErrorCode, LlmtapError } from '../errors.ts';

export type InjectorErrorCode = Extract<ErrorCode, `LLMTAP_INJECTOR_${string}`>;

export class InjectorError extends LlmtapError<InjectorErrorCode> {
  override readonly name: string = 'InjectorError';
}
