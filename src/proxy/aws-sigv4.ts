/**
 * SigV4 re-signing for routes with `signing: aws-sigv4` (Bedrock through a localhost endpoint). The app's SDK
 * signed for llmtap's host, which Bedrock rejects; llmtap verifies nothing of that signature, drops it and signs
 * the forwarded request for the real host with the pod's own AWS identity (the standard provider chain: env keys,
 * IRSA web identity, EKS Pod Identity / ECS container credentials, profiles, IMDS). Requests carrying a Bedrock
 * API key (`Authorization: Bearer …`) are not touched.
 *
 * `@smithy/signature-v4` and `@aws-sdk/credential-provider-node` are loaded on first use: a pod without a
 * signing route never pays for them. No credential is ever logged or exported: errors name what was tried.
 *
 * Size: credential loading, caching and signing stay in one module so a credential never leaves it.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { LlmtapError } from '../errors.ts';

/** What the provider chain gives (the members of the AWS SDK's identity type that signing uses). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Loads credentials; `forceRefresh` asks the source for new ones (the chain caches too). */
export type CredentialSource = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface AwsSignerOptions {
  readonly region: string;
  /** Signing name of the service: `bedrock` for bedrock-runtime. */
  readonly service: string;
  /** Defaults to the AWS SDK's Node provider chain (loaded lazily). */
  readonly credentials?: CredentialSource | undefined;
  /** Bound on one credential lookup (IMDS and STS can be slow or unreachable): past it the call gets a 502. */
  readonly credentialTimeoutMs?: number | undefined;
  /** Credentials expiring within this window are refreshed in the background (still used meanwhile). */
  readonly refreshBeforeMs?: number | undefined;
  /** For tests: the clock used for signing dates and expiry checks. */
  readonly now?: (() => number) | undefined;
}

/** The request as it goes upstream, before signing. */
export interface UnsignedRequest {
  readonly method: string;
  /** Upstream origin, e.g. `https://bedrock-runtime.us-east-1.amazonaws.com`. */
  readonly origin: URL;
  /** Path as sent on the wire (percent-encoded as the app encoded it). */
  readonly path: string;
  /** Query string including `?`, or empty. */
  readonly search: string;
  /** Flat `[name, value, …]` list of the headers to forward (hop-by-hop ones already removed). */
  readonly headers: readonly string[];
  /** The whole body (its SHA-256 is signed), `null` for none, or `'unsigned'` for a body streamed unbuffered. */
  readonly body: Uint8Array | null | 'unsigned';
}

export interface AwsSigner {
  readonly region: string;
  /**
   * Learns the upstream's clock from a signature-time rejection, as the AWS SDKs do: a 403/401 whose error type
   * is a signature error and whose `Date` is more than 4 minutes off shifts the signing clock by that much, so the
   * app's retry (the SDKs retry clock-skew errors) goes through. Other answers are ignored.
   */
  noteAnswer(status: number, date: string | undefined, errorType: string | undefined): void;
  /**
   * The header list to send: the app's headers minus its signature, plus `host`, `x-amz-date`,
   * `x-amz-content-sha256`, `x-amz-security-token` (temporary credentials) and the new `authorization`.
   * Rejects with `LLMTAP_UPSTREAM_AUTH` when no credentials can be loaded in time.
   */
  sign(request: UnsignedRequest): Promise<string[]>;
}

/** The app's own signature and what it covered; replaced, never forwarded. */
const stripped: ReadonlySet<string> = new Set([
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'host',
]);

/**
 * Headers left out of the signature because something between llmtap and AWS may add, drop or rewrite them, or
 * because they are per hop: signing them would only create ways to fail.
 */
const unsignable: ReadonlySet<string> = new Set([
  'content-length',
  'accept-encoding',
  'traceparent',
  'tracestate',
  'baggage',
]);

export const unsignedPayload = 'UNSIGNED-PAYLOAD';

/** True when the request authenticates with a Bedrock API key (bearer token): it passes untouched. */
export const usesBearerToken = (authorization: string | string[] | undefined): boolean =>
  typeof authorization === 'string' && /^bearer\s/i.test(authorization);

/** The region in a `bedrock-runtime.<region>.amazonaws.com`-style host, if any. */
export const regionOfHost = (hostname: string): string | undefined =>
  /^[a-z0-9-]+(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];

/** Region for a signing route: the route's, then AWS_REGION, AWS_DEFAULT_REGION, then the upstream host's. */
export const signingRegion = (
  routeRegion: string | undefined,
  upstream: URL,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined =>
  routeRegion || env.AWS_REGION || env.AWS_DEFAULT_REGION || regionOfHost(upstream.hostname) || undefined;

/** Where the default chain looks, in its order: the text of an LLMTAP_UPSTREAM_AUTH answer. */
export const chainSources =
  'environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), SSO, shared config and credentials files (AWS_PROFILE), ' +
  'credential_process, web identity token (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: IRSA), container ' +
  'credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI/RELATIVE_URI: EKS Pod Identity, ECS), EC2 instance metadata (IMDS)';

const toBytes = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** node:crypto behind the checksum interface @smithy/signature-v4 expects (no extra hashing dependency). */
class Sha256 {
  #hash: Hash | Hmac;
  readonly #secret: Uint8Array | string | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.#secret = key;
    this.#hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? data : toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    this.#hash = this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
}

const redactMessage = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  // Provider errors name files and profiles, not secrets; still, never echo anything key-shaped.
  return message
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[redacted]')
    .replace(/[A-Za-z0-9/+=]{40,}/g, '[redacted]')
    .slice(0, 300);
};

/**
 * Credentials cached between calls: fresh ones are used as they are; ones expiring within `refreshBeforeMs`
 * are still used while a refresh runs in the background; expired or missing ones are awaited (one lookup shared
 * by every waiting call), bounded by `timeoutMs`. A failed lookup is remembered for a second so a burst of calls
 * does not turn into a burst of metadata-service requests.
 */
export class CredentialCache {
  readonly #source: CredentialSource;
  readonly #timeoutMs: number;
  readonly #refreshBeforeMs: number;
  readonly #now: () => number;
  #current: AwsCredentials | undefined;
  #pending: Promise<AwsCredentials> | undefined;
  #failure: { error: LlmtapError; until: number } | undefined;

  constructor(source: CredentialSource, timeoutMs: number, refreshBeforeMs: number, now: () => number) {
    this.#source = source;
    this.#timeoutMs = timeoutMs;
    this.#refreshBeforeMs = refreshBeforeMs;
    this.#now = now;
  }

  async get(): Promise<AwsCredentials> {
    const current = this.#current;
    const at = this.#now();
    const expires = current?.expiration?.getTime();
    if (current !== undefined && (expires === undefined || expires - at > this.#refreshBeforeMs))
      return current;
    if (current !== undefined && expires !== undefined && expires - at > 5_000) {
      // Still valid: refresh behind the call rather than in front of it.
      this.#refresh(true).catch(() => undefined);
      return current;
    }
    if (this.#failure !== undefined && this.#failure.until > at && this.#pending === undefined)
      throw this.#failure.error;
    return this.#refresh(current !== undefined);
  }

  #refresh(force: boolean): Promise<AwsCredentials> {
    this.#pending ??= this.#load(force).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #load(force: boolean): Promise<AwsCredentials> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      timer.unref();
    });
    try {
      const credentials = await Promise.race([this.#source(force ? { forceRefresh: true } : {}), timeout]);
      if (!credentials?.accessKeyId || !credentials.secretAccessKey)
        throw new Error('the credential source returned no access key');
      this.#current = credentials;
      this.#failure = undefined;
      return credentials;
    } catch (error) {
      const failure = new LlmtapError(
        'LLMTAP_UPSTREAM_AUTH',
        `no AWS credentials to sign the request with; tried ${chainSources}; last error: ${redactMessage(error)}`,
      );
      this.#failure = { error: failure, until: this.#now() + 1_000 };
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }
}

interface SignatureV4Like {
  sign(
    request: {
      method: string;
      protocol: string;
      hostname: string;
      port?: number | undefined;
      path: string;
      query: Record<string, string | string[]>;
      headers: Record<string, string>;
    },
    options: { signingDate: Date; unsignableHeaders: Set<string> },
  ): Promise<{ headers: Record<string, string> }>;
}

/** The AWS SDK's default Node chain, imported on first use. */
const defaultChain = async (): Promise<CredentialSource> => {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider() as CredentialSource;
};

const queryOf = (search: string): Record<string, string | string[]> => {
  const query: Record<string, string | string[]> = {};
  if (search.length <= 1) return query;
  for (const [key, value] of new URLSearchParams(search)) {
    const previous = query[key];
    if (previous === undefined) query[key] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else query[key] = [previous, value];
  }
  return query;
};

/** Creates a signer for one route. Loads the signing library (and the default chain) once, on first use. */
export const createAwsSigner = (options: AwsSignerOptions): AwsSigner => {
  const now = options.now ?? Date.now;
  let cache: CredentialCache | undefined;
  let signerPromise: Promise<SignatureV4Like> | undefined;
  const credentialCache = async (): Promise<CredentialCache> => {
    if (cache === undefined) {
      const source = options.credentials ?? (await defaultChain());
      cache ??= new CredentialCache(
        source,
        options.credentialTimeoutMs ?? 10_000,
        options.refreshBeforeMs ?? 5 * 60_000,
        now,
      );
    }
    return cache;
  };
  const signer = (): Promise<SignatureV4Like> => {
    signerPromise ??= (async () => {
      const { SignatureV4 } = await import('@smithy/signature-v4');
      const credentials = await credentialCache();
      return new SignatureV4({
        credentials: async () => {
          const { accessKeyId, secretAccessKey, sessionToken } = await credentials.get();
          return sessionToken === undefined
            ? { accessKeyId, secretAccessKey }
            : { accessKeyId, secretAccessKey, sessionToken };
        },
        region: options.region,
        service: options.service,
        sha256: Sha256,
        // Non-S3 services canonicalise the already-encoded path once more, as the AWS SDK does.
        uriEscapePath: true,
        applyChecksum: false,
      }) as unknown as SignatureV4Like;
    })();
    signerPromise.catch(() => {
      signerPromise = undefined;
    });
    return signerPromise;
  };

  let clockOffsetMs = 0;
  return {
    region: options.region,
    noteAnswer(status, date, errorType) {
      if ((status !== 403 && status !== 401) || date === undefined) return;
      if (
        errorType === undefined ||
        !/^(InvalidSignatureException|SignatureDoesNotMatch|RequestTimeTooSkewed|RequestExpired)/.test(
          errorType,
        )
      )
        return;
      const server = Date.parse(date);
      if (Number.isNaN(server)) return;
      const skew = server - now();
      clockOffsetMs = Math.abs(skew) > 4 * 60_000 ? skew : 0;
    },
    async sign(request) {
      const kept: string[] = [];
      const bag: Record<string, string> = {};
      const { headers } = request;
      for (let i = 0; i + 1 < headers.length; i += 2) {
        const name = headers[i] as string;
        const value = headers[i + 1] as string;
        const lower = name.toLowerCase();
        if (stripped.has(lower)) continue;
        kept.push(name, value);
        bag[lower] = bag[lower] === undefined ? value : `${bag[lower]},${value}`;
      }
      const { body, origin } = request;
      const payloadHash =
        body === 'unsigned'
          ? unsignedPayload
          : createHash('sha256')
              .update(body ?? new Uint8Array(0))
              .digest('hex');
      bag.host = origin.host;
      bag['x-amz-content-sha256'] = payloadHash;
      const signed = await (await signer()).sign(
        {
          method: request.method,
          protocol: origin.protocol,
          hostname: origin.hostname,
          port: origin.port === '' ? undefined : Number(origin.port),
          path: request.path,
          query: queryOf(request.search),
          headers: bag,
        },
        { signingDate: new Date(now() + clockOffsetMs), unsignableHeaders: new Set(unsignable) },
      );
      const out = kept;
      out.push('host', origin.host, 'x-amz-date', signed.headers['x-amz-date'] as string);
      out.push('x-amz-content-sha256', payloadHash);
      const token = signed.headers['x-amz-security-token'];
      if (token !== undefined) out.push('x-amz-security-token', token);
      out.push('authorization', signed.headers.authorization as string);
      return out;
    },
  };
};
