/**
 * The configuration schema. Every outside input (YAML file, env, flags) is validated here once;
 * the result is deep-frozen and nothing else reads `process.env`.
 */
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
    'expected host:port, e.g. 127.0.0.1:4545 or [::1]:4545',
  )
  .refine((value) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65_535;
  }, 'port must be 0-65535');

const durationMs = z.number().int().min(0).max(86_400_000);

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

const byteCount = z
  .number()
  .int()
  .min(0)
  .max(1024 * 1024 * 1024);

export const routeSchema = z
  .object({
    /** Path prefix the app uses, e.g. `/openai`. */
    prefix: z
      .string()
      .regex(
        /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/,
        'expected a path prefix like /openai (no trailing slash)',
      ),
    /** Adapter id (see `llmtap --help` for the list). */
    provider: z.string().min(1),
    /** Upstream base URL: scheme, host, optional port and base path; no query or fragment. */
    upstream: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .refine((value) => {
        if (!URL.canParse(value)) return true; // already reported by the URL check
        const url = new URL(value);
        return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
      }, 'the upstream URL must not carry a query, fragment or credentials'),
    /** `gen_ai.provider.name` override, for `openai-compatible` routes. */
    providerName: z.string().min(1).max(64).optional(),
    /** OpenAI-dialect streaming usage: `inject` asks for it and hides it from the client; `passthrough` does not. */
    streamUsage: z.enum(['inject', 'passthrough']).optional(),
    /** Idle timeout for this route's streams (both directions). */
    idleTimeoutMs: durationMs.optional(),
    /** Browser origins allowed to call this route (default: none — requests with an Origin header are refused). */
    allowedOrigins: z.array(z.string().min(1)).optional(),
    /**
     * `aws-sigv4`: strip the app's SigV4 signature and sign again for the upstream host with the pod's own AWS
     * credentials (Bedrock through a localhost endpoint). Bearer-token requests pass untouched.
     */
    signing: z.enum(['aws-sigv4']).optional(),
    /** Signing region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the upstream host's region). */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region like us-east-1')
      .optional(),
    /** Signing service name (default `bedrock`). */
    signingService: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .optional(),
    /** This route's telemetry mode; default `LLMTAP_MODE`. Filled in for every route by the loader. */
    mode: modeSchema.optional(),
  })
  .strict();

export const limitsSchema = z
  .object({
    /** Bytes of each body (request, response) copied to the tap per call; forwarding continues past it. */
    maxCopyBytes: byteCount.default(16 * 1024 * 1024),
    /**
     * Request-body copies held for parsing across all in-flight calls together: concurrent large uploads
     * cannot multiply `maxFrameBytes`. Past it, new bytes are not copied (the call is marked truncated).
     */
    maxRequestCopyTotalBytes: byteCount.default(16 * 1024 * 1024),
    /** Decoded (decompressed) bytes per response copy. */
    maxDecodedBytes: byteCount.default(32 * 1024 * 1024),
    /** Largest single frame (SSE event, NDJSON line, eventstream message, JSON body) the decoders buffer. */
    maxFrameBytes: byteCount.default(4 * 1024 * 1024),
    /** Captured message content per call, in characters (only with content capture on). */
    maxCapturedChars: z.number().int().min(0).max(16_777_216).default(16_384),
    /** Request bodies buffered for streaming-usage injection; larger bodies are forwarded untouched. */
    maxInjectBodyBytes: byteCount.default(4 * 1024 * 1024),
    /**
     * Request bodies a re-signing route (`signing: aws-sigv4`) reads whole to sign their SHA-256: only S3 accepts
     * `UNSIGNED-PAYLOAD`, so a longer body streams unsigned and is likely refused. Above Bedrock's request limits.
     */
    maxSignedBodyBytes: byteCount.default(32 * 1024 * 1024),
    /** Request header bytes accepted from the app. */
    maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
  })
  .strict();

export const timeoutsSchema = z
  .object({
    /** No data in either direction for this long ends the stream (LLM streams may think for minutes). */
    idleMs: durationMs.default(600_000),
    /** Time allowed for the app to send complete request headers (slowloris guard). */
    headersMs: durationMs.default(30_000),
    /** TCP+TLS connect to the upstream. */
    connectMs: durationMs.default(10_000),
    /** Upstream response headers after the request was sent (models can take long before the first byte). */
    upstreamHeadersMs: durationMs.default(600_000),
    /** In-flight streams get this long to finish after SIGTERM. */
    drainMs: durationMs.default(30_000),
  })
  .strict();

/** The live view's listener (`--ui`): host:port, or `off`. */
export const uiSchema = z
  .object({
    /** Off the pod network by default: reach it with `kubectl port-forward`. */
    listen: z.union([z.literal('off'), hostPort]).default('127.0.0.1:4547'),
    /** Recent calls kept for the live view, `GET /calls` and `llmtap calls` (a ring buffer). */
    calls: z.number().int().min(1).max(100_000).default(256),
  })
  .strict();

export const configSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:4545'),
    admin: hostPort.default('0.0.0.0:4546'),
    routes: z.array(routeSchema).default([]),
    limits: limitsSchema.default(limitsSchema.parse({})),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    ui: uiSchema.default(uiSchema.parse({})),
  })
  .strict();

export type RouteConfig = z.infer<typeof routeSchema>;
export type Limits = z.infer<typeof limitsSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type UiConfig = z.infer<typeof uiSchema>;
/** The file's shape after defaults, before built-in routes are merged. */
export type FileConfig = z.infer<typeof configSchema>;
