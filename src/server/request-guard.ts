/**
 * Refuses requests that would turn a pod-local sidecar into something else: absolute-form targets (open proxy),
 * foreign `Host` names (DNS rebinding from a browser), and browser `Origin`s the route does not allow (CSRF).
 */
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors.ts';
import type { Route } from '../proxy/router.ts';

const loopbackHost = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Checks that do not depend on the route: target form and Host. */
export const checkRequestTarget = (req: IncomingMessage): Refusal | undefined => {
  const url = req.url ?? '';
  if (!url.startsWith('/')) {
    return { code: 'LLMTAP_BAD_REQUEST', message: 'only origin-form request targets (/path) are accepted' };
  }
  // HTTP/2 names the host in its :authority pseudo-header.
  const host = req.headers.host ?? (req.headers[':authority'] as string | undefined);
  if (host === undefined || !loopbackHost.test(host)) {
    return {
      code: 'LLMTAP_FORBIDDEN_HOST',
      message: 'the Host header must be localhost, 127.0.0.1 or [::1] (this proxy serves its own pod only)',
    };
  }
  return undefined;
};

/** A browser `Origin` is refused unless the route lists it. */
export const checkOrigin = (req: IncomingMessage, route: Route): Refusal | undefined => {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (route.config.allowedOrigins?.includes(origin) === true) return undefined;
  return {
    code: 'LLMTAP_FORBIDDEN_ORIGIN',
    message: `requests from browser origins are refused unless the route's allowedOrigins lists them`,
  };
};
