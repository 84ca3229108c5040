/**
 * Which routes re-sign their requests (`signing: aws-sigv4`), and the signing step of one request: between reading
 * the body and dispatching it. Signers are created at start-up (a signing route without a region is a config
 * error); the signing library and the credential chain load on their first request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { LlmtapError } from '../errors.ts';
import { type AwsSigner, createAwsSigner, signingRegion, usesBearerToken } from './aws-sigv4.ts';
import type { Route, RouteMatch } from './router.ts';

export type SignerFor = (match: RouteMatch) => AwsSigner | undefined;

export const createRouteSigners = (
  routes: readonly Route[],
  env: Readonly<Record<string, string | undefined>>,
  credentialTimeoutMs: number,
): SignerFor => {
  const signers = new Map<Route, AwsSigner>();
  for (const route of routes) {
    if (route.config.signing !== 'aws-sigv4') continue;
    const region = signingRegion(route.config.region, route.originUrl, env);
    if (region === undefined) {
      throw new LlmtapError(
        'LLMTAP_CONFIG_INVALID',
        `route ${route.config.prefix}: signing: aws-sigv4 needs a region (set region: on the route, or AWS_REGION)`,
      );
    }
    signers.set(
      route,
      createAwsSigner({ region, service: route.config.signingService ?? 'bedrock', credentialTimeoutMs }),
    );
  }
  return signers.size === 0 ? () => undefined : (match) => signers.get(match.route);
};

/** The signer for this request, or undefined: unsigned routes, and Bedrock API keys (bearer), pass as sent. */
export const signerForRequest = (
  signerFor: SignerFor | undefined,
  match: RouteMatch,
  headers: IncomingHttpHeaders,
): AwsSigner | undefined => {
  const signer = signerFor?.(match);
  return signer === undefined || usesBearerToken(headers.authorization) ? undefined : signer;
};

/** Signs the upstream header list for `body` (a Buffer is hashed; a stream goes UNSIGNED-PAYLOAD). */
export const signHeaders = (
  signer: AwsSigner,
  method: string,
  match: RouteMatch,
  headers: readonly string[],
  body: unknown,
): Promise<string[]> =>
  signer.sign({
    method,
    origin: match.route.originUrl,
    path: match.upstreamPath,
    search: match.search,
    headers,
    body: body === null ? null : body instanceof Uint8Array ? body : 'unsigned',
  });

type Handler = Dispatcher.DispatchHandler;
type Controller = Parameters<NonNullable<Handler['onRequestStart']>>[0];

const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/**
 * Passes everything to the handler it wraps, and shows the signer the answer's head: a signature-time rejection
 * tells it how far the upstream's clock is off (`AwsSigner.noteAnswer`).
 */
export class SignedAnswer implements Handler {
  readonly #next: Handler;
  readonly #signer: AwsSigner;

  constructor(next: Handler, signer: AwsSigner) {
    this.#next = next;
    this.#signer = signer;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#next.onRequestStart?.(controller, context);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode === 403 || statusCode === 401) {
      try {
        this.#signer.noteAnswer(
          statusCode,
          headerText(headers.date),
          headerText(headers['x-amzn-errortype']),
        );
      } catch {
        // Learning the clock is a courtesy: it never touches the answer.
      }
    }
    this.#next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#next.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.#next.onResponseError?.(controller, error);
  }

  // Legacy callbacks undici still calls on some paths (request body progress).
  onBodySent(chunk: Buffer): void {
    (this.#next as { onBodySent?: (chunk: Buffer) => void }).onBodySent?.(chunk);
  }

  onRequestSent(): void {
    (this.#next as { onRequestSent?: () => void }).onRequestSent?.();
  }
}
