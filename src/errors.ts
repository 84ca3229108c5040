/**
 * The error catalogue: every error llmtap itself produces has a stable code here. Errors answered to the app or
 * stopping a start-up (`ErrorCode`) have an HTTP status and an error `type` for the JSON body; failures while
 * observing a call (`ObservationErrorCode`) never reach the app and name the telemetry stage they are counted
 * under. Adding a code without a row fails to compile. One class, `LlmtapError`, carries them; the per-module
 * classes only narrow its code.
 */

export type ErrorCode =
  | 'LLMTAP_NO_ROUTE'
  | 'LLMTAP_UPSTREAM_CONNECT'
  | 'LLMTAP_UPSTREAM_TIMEOUT'
  | 'LLMTAP_UPSTREAM_ERROR'
  | 'LLMTAP_UPSTREAM_AUTH'
  | 'LLMTAP_BAD_REQUEST'
  | 'LLMTAP_HEADERS_TOO_LARGE'
  | 'LLMTAP_REQUEST_TIMEOUT'
  | 'LLMTAP_FORBIDDEN_HOST'
  | 'LLMTAP_FORBIDDEN_ORIGIN'
  | 'LLMTAP_METHOD_NOT_ALLOWED'
  | 'LLMTAP_INTERNAL'
  | 'LLMTAP_CONFIG_INVALID'
  | 'LLMTAP_TELEMETRY_ENV_INVALID'
  | 'LLMTAP_PRICES_INVALID'
  | 'LLMTAP_INJECTOR_USAGE'
  | 'LLMTAP_INJECTOR_TEMPLATE'
  | 'LLMTAP_INJECTOR_TLS'
  | 'LLMTAP_INJECTOR_LISTEN'
  | 'LLMTAP_INJECTOR_ERROR';

interface ErrorRow {
  /** HTTP status answered to the app (0 = never answered: a start-up error). */
  readonly status: number;
  /** `error.type` in the JSON body. */
  readonly type: string;
  readonly description: string;
}

export const errorCatalogue = {
  LLMTAP_NO_ROUTE: {
    status: 404,
    type: 'llmtap_route_error',
    description: 'No route prefix matches the path.',
  },
  LLMTAP_UPSTREAM_CONNECT: {
    status: 502,
    type: 'llmtap_upstream_error',
    description:
      'The upstream could not be reached (DNS failure, connection refused or reset before a response).',
  },
  LLMTAP_UPSTREAM_TIMEOUT: {
    status: 504,
    type: 'llmtap_upstream_error',
    description: 'The upstream did not connect or answer headers within the configured timeout.',
  },
  LLMTAP_UPSTREAM_ERROR: {
    status: 502,
    type: 'llmtap_upstream_error',
    description: 'The upstream failed before sending response headers for another reason.',
  },
  LLMTAP_UPSTREAM_AUTH: {
    status: 502,
    type: 'llmtap_upstream_error',
    description:
      'The route re-signs requests (signing: aws-sigv4) and no AWS credentials could be loaded; the message says what was tried.',
  },
  LLMTAP_BAD_REQUEST: {
    status: 400,
    type: 'llmtap_request_error',
    description: 'The request is malformed or ambiguous (absolute-form target, bad framing).',
  },
  LLMTAP_HEADERS_TOO_LARGE: {
    status: 431,
    type: 'llmtap_request_error',
    description: 'The request headers exceed limits.maxHeaderBytes.',
  },
  LLMTAP_REQUEST_TIMEOUT: {
    status: 408,
    type: 'llmtap_request_error',
    description: 'The request headers did not arrive within timeouts.headersMs (slowloris guard).',
  },
  LLMTAP_FORBIDDEN_HOST: {
    status: 403,
    type: 'llmtap_request_error',
    description: 'The Host header is not a loopback name (DNS-rebinding guard).',
  },
  LLMTAP_FORBIDDEN_ORIGIN: {
    status: 403,
    type: 'llmtap_request_error',
    description: 'A browser Origin header is present and the route does not allow it.',
  },
  LLMTAP_METHOD_NOT_ALLOWED: {
    status: 405,
    type: 'llmtap_request_error',
    description: 'CONNECT is refused: llmtap is a reverse proxy, not an open forward proxy.',
  },
  LLMTAP_INTERNAL: {
    status: 500,
    type: 'llmtap_internal_error',
    description:
      'A bug in llmtap stopped it from forwarding the request (logged; the process keeps serving).',
  },
  LLMTAP_CONFIG_INVALID: {
    status: 0,
    type: 'llmtap_config_error',
    description: 'The configuration is invalid.',
  },
  LLMTAP_TELEMETRY_ENV_INVALID: {
    status: 0,
    type: 'llmtap_config_error',
    description:
      'An OTEL_* or LLMTAP_* telemetry variable has a value llmtap cannot use (header values are never echoed).',
  },
  LLMTAP_PRICES_INVALID: {
    status: 0,
    type: 'llmtap_config_error',
    description: 'The LLMTAP_PRICES file cannot be read or does not match the price-file schema.',
  },
  LLMTAP_INJECTOR_USAGE: {
    status: 0,
    type: 'llmtap_injector_error',
    description: '`llmtap inject` got an unknown flag or an unusable value.',
  },
  LLMTAP_INJECTOR_TEMPLATE: {
    status: 0,
    type: 'llmtap_injector_error',
    description: 'The sidecar template file cannot be read or is not a valid container spec.',
  },
  LLMTAP_INJECTOR_TLS: {
    status: 0,
    type: 'llmtap_injector_error',
    description: 'The webhook certificate or key cannot be read.',
  },
  LLMTAP_INJECTOR_LISTEN: {
    status: 0,
    type: 'llmtap_injector_error',
    description: 'The webhook cannot listen on its address.',
  },
  LLMTAP_INJECTOR_ERROR: {
    status: 0,
    type: 'llmtap_injector_error',
    description: 'The webhook failed to start for another reason (the log line has the cause).',
  },
} as const satisfies Record<ErrorCode, ErrorRow>;

/** Telemetry pipeline stages, for `llmtap.telemetry.errors{stage}`. */
export type TelemetryStage = 'decode' | 'framing' | 'parse' | 'pricing' | 'export' | 'observer';

export type ObservationErrorCode =
  | 'UNSUPPORTED_CONTENT_ENCODING'
  | 'CONTENT_DECODING_FAILED'
  | 'ADAPTER_FAILED'
  | 'FRAMING_FAILED'
  | 'OBSERVER_FAILED';

interface ObservationRow {
  /** The stage the failure is counted under. */
  readonly stage: TelemetryStage;
  readonly description: string;
}

/** Failures while observing a call: counted and logged, never answered (the call's bytes are untouched). */
export const observationErrors = {
  UNSUPPORTED_CONTENT_ENCODING: {
    stage: 'decode',
    description: 'The copy has a Content-Encoding llmtap does not decode.',
  },
  CONTENT_DECODING_FAILED: { stage: 'decode', description: 'The copy could not be decompressed.' },
  FRAMING_FAILED: { stage: 'framing', description: 'The body could not be split into frames.' },
  ADAPTER_FAILED: {
    stage: 'parse',
    description:
      'The provider adapter threw (request or response parsing, its usage patch or response filter).',
  },
  OBSERVER_FAILED: { stage: 'observer', description: 'The observer (telemetry, live view) threw.' },
} as const satisfies Record<ObservationErrorCode, ObservationRow>;

export type LlmtapErrorCode = ErrorCode | ObservationErrorCode;

/** An error llmtap raises itself, with a stable code from the catalogue. */
export class LlmtapError<C extends LlmtapErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'LlmtapError';
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The JSON body answered to the app for an llmtap error. */
export const errorBody = (
  code: ErrorCode,
  message: string,
  extra?: Readonly<Record<string, unknown>>,
): string => JSON.stringify({ error: { type: errorCatalogue[code].type, code, message, ...extra } });
