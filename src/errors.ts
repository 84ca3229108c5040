/**
 * The error catalogue: every error llmtap itself produces has a stable code, an HTTP status when it is
 * answered to the app, and an error `type` for the JSON body. Adding a code without a row fails to compile.
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
  | 'LLMTAP_CONFIG_INVALID';

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
} as const satisfies Record<ErrorCode, ErrorRow>;

/** An error llmtap raises itself, with a stable code. */
export class LlmtapError extends Error {
  override readonly name = 'LlmtapError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
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
