/**
 * The configuration schema. Every outside input (YAML file, env, flags) is validated here once;
 * the result is deep-frozen and nothing else reads `process.env`.
 */
import * as z from 'zod/mini';
import './zod-messages.ts';

const hostPort = z.string().check(
  z.regex(
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
    'expected host:port, e.g. 127.0.0.1:4545 or [::1]:4545',
  ),
  z.refine((value: string) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65_535;
  }, 'port must be 0-65535'),
);

/** An integer in [min, max]. */
const intIn = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

const durationMs = intIn(0, 86_400_000);

/**
 * What llmtap emits for a route's calls (docs/telemetry.md, "Modes"): `full` spans and metrics; `metrics` GenAI
 * metrics and cost only, for apps whose SDK makes the spans (OpenLLMetry-JS); `spans` spans only, for apps
 * whose SDK emits the metrics; `off` forwarding only, no tap.
 */
export const telemetryModes = ['full', 'metrics', 'spans', 'off'] as const;
export type TelemetryMode = (typeof telemetryModes)[number];
/**
 * `LLMTAP_SEMCONV_COMPAT`: `openllmetry` adds OpenLLMetry's legacy span attributes next to the semconv ones;
 * `openllmetry-content` also adds the flattened `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` content.
 */
export const semconvCompatValues = ['off', 'openllmetry', 'openllmetry-content'] as const;
export type SemconvCompat = (typeof semconvCompatValues)[number];
const modeSchema = z.enum(telemetryModes, { error: `expected one of ${telemetryModes.join(', ')}` });

const byteCount = intIn(0, 1024 * 1024 * 1024);

export const routeSchema = z.strictObject({
  /** Path prefix the app uses, e.g. `/openai`. */
  prefix: z
    .string()
    .check(
      z.regex(
        /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/,
        'expected a path prefix like /openai (no trailing slash)',
      ),
    ),
  /** Adapter id (see `llmtap --help` for the list). */
  provider: z.string().check(z.minLength(1)),
  /** Upstream base URL: scheme, host, optional port and base path; no query or fragment. */
  upstream: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).check(
    z.refine((value: string) => {
      if (!URL.canParse(value)) return true; // already reported by the URL check
      const url = new URL(value);
      return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
    }, 'the upstream URL must not carry a query, fragment or credentials'),
  ),
  /** `gen_ai.provider.name` override, for `openai-compatible` routes. */
  providerName: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** OpenAI-dialect streaming usage: `inject` asks for it and hides it from the client; `passthrough` does not. */
  streamUsage: z.optional(z.enum(['inject', 'passthrough'])),
  /** Idle timeout for this route's streams (both directions). */
  idleTimeoutMs: z.optional(durationMs),
  /** Browser origins allowed to call this route (default: none — requests with an Origin header are refused). */
  allowedOrigins: z.optional(z.array(z.string().check(z.minLength(1)))),
  /**
   * `aws-sigv4`: strip the app's SigV4 signature and sign again for the upstream host with the pod's own AWS
   * credentials (Bedrock through a localhost endpoint). Bearer-token requests pass untouched.
   */
  signing: z.optional(z.enum(['aws-sigv4'])),
  /** Signing region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the upstream host's region). */
  region: z.optional(
    z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region like us-east-1')),
  ),
  /** Signing service name (default `bedrock`). */
  signingService: z.optional(z.string().check(z.regex(/^[a-z0-9-]{1,64}$/))),
  /** This route's telemetry mode; default `LLMTAP_MODE`. Filled in for every route by the loader. */
  mode: z.optional(modeSchema),
});

export const limitsSchema = z.strictObject({
  /** Bytes of each body (request, response) copied to the tap per call; forwarding continues past it. */
  maxCopyBytes: z._default(byteCount, 16 * 1024 * 1024),
  /**
   * Request-body copies held for parsing across all in-flight calls together: concurrent large uploads
   * cannot multiply `maxFrameBytes`. Past it, new bytes are not copied (the call is marked truncated).
   */
  maxRequestCopyTotalBytes: z._default(byteCount, 16 * 1024 * 1024),
  /** Decoded (decompressed) bytes per response copy. */
  maxDecodedBytes: z._default(byteCount, 32 * 1024 * 1024),
  /** Largest single frame (SSE event, NDJSON line, eventstream message, JSON body) the decoders buffer. */
  maxFrameBytes: z._default(byteCount, 4 * 1024 * 1024),
  /** Captured message content per call, in characters (only with content capture on). */
  maxCapturedChars: z._default(intIn(0, 16_777_216), 16_384),
  /** Request bodies buffered for streaming-usage injection; larger bodies are forwarded untouched. */
  maxInjectBodyBytes: z._default(byteCount, 4 * 1024 * 1024),
  /**
   * Request bodies a re-signing route (`signing: aws-sigv4`) reads whole to sign their SHA-256: only S3 accepts
   * `UNSIGNED-PAYLOAD`, so a longer body streams unsigned and is likely refused. Above Bedrock's request limits.
   */
  maxSignedBodyBytes: z._default(byteCount, 32 * 1024 * 1024),
  /** Request header bytes accepted from the app. */
  maxHeaderBytes: z._default(intIn(1024, 1_048_576), 65_536),
});

export const timeoutsSchema = z.strictObject({
  /** No data in either direction for this long ends the stream (LLM streams may think for minutes). */
  idleMs: z._default(durationMs, 600_000),
  /** Time allowed for the app to send complete request headers (slowloris guard). */
  headersMs: z._default(durationMs, 30_000),
  /** TCP+TLS connect to the upstream. */
  connectMs: z._default(durationMs, 10_000),
  /** Upstream response headers after the request was sent (models can take long before the first byte). */
  upstreamHeadersMs: z._default(durationMs, 600_000),
  /** In-flight streams get this long to finish after SIGTERM. */
  drainMs: z._default(durationMs, 30_000),
});

/** The live view's listener (`--ui`): host:port, or `off`. */
export const uiSchema = z.strictObject({
  /** Off the pod network by default: reach it with `kubectl port-forward`. */
  listen: z._default(z.union([z.literal('off'), hostPort]), '127.0.0.1:4547'),
  /** Recent calls kept for the live view, `GET /calls` and `llmtap calls` (a ring buffer). */
  calls: z._default(intIn(1, 100_000), 256),
});

export const configSchema = z.strictObject({
  listen: z._default(hostPort, '127.0.0.1:4545'),
  admin: z._default(hostPort, '0.0.0.0:4546'),
  routes: z._default(z.array(routeSchema), []),
  limits: z._default(limitsSchema, limitsSchema.parse({})),
  timeouts: z._default(timeoutsSchema, timeoutsSchema.parse({})),
  logLevel: z._default(z.enum(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
  ui: z._default(uiSchema, uiSchema.parse({})),
});

export type RouteConfig = z.infer<typeof routeSchema>;
export type Limits = z.infer<typeof limitsSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type UiConfig = z.infer<typeof uiSchema>;
/** The file's shape after defaults, before built-in routes are merged. */
export type FileConfig = z.infer<typeof configSchema>;
