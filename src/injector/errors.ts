/** Errors the injector raises at start-up; a review never throws to the API server (see handler.ts). */
export type InjectorErrorCode =
  | 'LLMTAP_INJECTOR_USAGE'
  | 'LLMTAP_INJECTOR_TEMPLATE'
  | 'LLMTAP_INJECTOR_TLS'
  | 'LLMTAP_INJECTOR_LISTEN';

export class InjectorError extends Error {
  readonly code: InjectorErrorCode;
  constructor(code: InjectorErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InjectorError';
    this.code = code;
  }
}
