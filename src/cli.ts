#!/usr/bin/env node
/**
 * The `llmtap` command. `llmtap` runs the sidecar; `llmtap inject` runs the admission webhook.
 * The only module that touches `process` (argv, env, signals, exit code).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from './config/load.ts';
import { LlmtapError } from './errors.ts';
import { compactHeap } from './heap-compact.ts';
import { widenHeapGrowth } from './heap-growth.ts';
import { createLogger, type Logger } from './log.ts';
import { banner, knownProviders, startLlmtap } from './main.ts';
import { redactText } from './redact.ts';

const readVersion = (): string => {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'llmtap' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next layout (source tree vs dist/)
    }
  }
  return '0.0.0';
};

export const helpText = (
  providers: readonly string[],
): string => `llmtap — OpenTelemetry for every LLM call your pod makes

Usage:
  llmtap [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT] [--ui HOST:PORT|off]
  llmtap inject [--help]        run the Kubernetes admission webhook that injects llmtap
  llmtap calls [--follow] [--json] [--url URL]   the recent LLM calls of a running llmtap, one line each
  llmtap --help | --version

Point your LLM client's base URL at the data plane, e.g.
  OPENAI_BASE_URL=http://127.0.0.1:4545/openai/v1
  ANTHROPIC_BASE_URL=http://127.0.0.1:4545/anthropic

Flags:
  --config FILE        YAML config (listen, admin, routes, limits, timeouts, logLevel)   env LLMTAP_CONFIG
  --listen HOST:PORT   data plane listener (default 127.0.0.1:4545)                       env LLMTAP_LISTEN
  --admin HOST:PORT    admin listener: GET /healthz, GET /readyz, GET /metrics (Prometheus)
                       (default 0.0.0.0:4546)                                        env LLMTAP_ADMIN_LISTEN
  --ui HOST:PORT|off   live view of the calls: page, GET /calls, /calls/stream (default 127.0.0.1:4547)
                                                                                      env LLMTAP_UI_LISTEN
  -h, --help           this text
  -v, --version        print the version

Environment:
  LLMTAP_DRAIN_TIMEOUT   how long in-flight streams may finish after SIGTERM (default 30s; 500ms, 2m…)
  LLMTAP_LOG_LEVEL       debug | info | warn | error | silent (default info)
  LLMTAP_MODE            full | metrics | spans | off — what llmtap emits (default full; a route's mode: wins):
                           full     spans + GenAI metrics + cost: apps with no GenAI instrumentation of their own
                           metrics  GenAI metrics + cost, no spans: apps on OpenLLMetry-JS (it makes the spans and
                                    emits no metrics)
                           spans    spans only, no GenAI metrics: apps whose SDK emits the GenAI metrics itself
                           off      forward only, no tap: apps whose SDK makes both (OpenLLMetry-Python, OTel
                                    GenAI instrumentations); each would otherwise count every call twice
  LLMTAP_TELEMETRY       off — the older spelling of LLMTAP_MODE=off
  LLMTAP_SEMCONV_COMPAT  off | openllmetry | openllmetry-content — also write OpenLLMetry's legacy span names
                         (gen_ai.system, gen_ai.usage.prompt_tokens, llm.request.type…); -content adds the
                         flattened gen_ai.prompt.N.* / gen_ai.completion.N.* when content capture is on
  LLMTAP_UI_CALLS        recent calls the live view keeps (default 256)
  LLMTAP_PRICES          JSON/YAML price file that overrides and extends the built-in price table
  LLMTAP_PODINFO_DIR     Downward-API volume with pod labels/annotations (default /etc/podinfo)
  K8S_POD_NAME, K8S_NAMESPACE_NAME, K8S_POD_UID, K8S_NODE_NAME, K8S_POD_IP   pod identity (Downward API)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
  OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
  OTEL_SDK_DISABLED, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_METRIC_EXPORT_INTERVAL,
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (delta | cumulative | lowmemory; default delta)
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true   also export prompts and outputs (off by default)
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY    egress proxy for llmtap's own upstream connections
  NODE_EXTRA_CA_CERTS                  extra CA certificates for upstream TLS

Providers (route "provider" ids): ${providers.join(', ')}
`;

/** Stack frames only (the first line repeats the message), at most 8, redacted: enough to find the bug. */
const framesOf = (error: unknown): string | undefined => {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return undefined;
  const frames = error.stack.split('\n').filter((line) => line.startsWith('    at '));
  return redactText(frames.slice(0, 8).join('\n'));
};

export interface FaultPolicyOptions {
  readonly logger: Logger;
  /** Counts the fault (`llmtap.telemetry.errors{stage="observer"}`); must not throw, but may. */
  readonly count?: ((error: unknown) => void) | undefined;
  /** Called once when faults come faster than `stormThreshold` per `windowMs`: drain and restart. */
  readonly onStorm: () => void;
  readonly stormThreshold?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
}

/**
 * What llmtap does with an exception nothing caught (`uncaughtException`, `unhandledRejection`) once it is
 * serving: log it (redacted, frames only), count it, and keep serving. Crashing would cut every in-flight
 * stream of the pod and refuse the app's next calls until the restart — for one observer's bug. Continuing is
 * safe because a call's state lives in its own objects (its exchange and tap), routes and config are frozen,
 * observers sit behind the tap guard, and a call whose callback died is still ended by the idle timeout. The
 * state calls do share (pre-bound metric streams, the price memo, the head-flush queue, the request-copy budget)
 * changes in single synchronous steps; the one thing a dead call can keep is its share of the request-copy
 * budget, which then only shortens other calls' copies (telemetry, never traffic). If faults keep coming (more than
 * `stormThreshold` in `windowMs`), something is systematically wrong: `onStorm` drains gracefully and exits
 * non-zero so the kubelet restarts a clean process without cutting streams.
 */
export const createFaultPolicy = (
  options: FaultPolicyOptions,
): ((error: unknown, origin: string) => void) => {
  const threshold = options.stormThreshold ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const recent: number[] = [];
  let stormed = false;
  return (error, origin) => {
    try {
      const at = now();
      recent.push(at);
      while (recent.length > 0 && (recent[0] as number) <= at - windowMs) recent.shift();
      options.logger.error('uncaught exception; llmtap keeps serving', {
        origin,
        error: error instanceof Error ? error.name : typeof error,
        code: (error as { code?: unknown } | null)?.code,
        detail: error instanceof Error ? redactText(error.message).slice(0, 200) : undefined,
        frames: framesOf(error),
        recentFaults: recent.length,
      });
      try {
        options.count?.(error);
      } catch {
        // Counting a fault must not become a fault.
      }
      if (!stormed && recent.length > threshold) {
        stormed = true;
        options.onStorm();
      }
    } catch {
      // The handler of last resort must not throw: that would crash the process it protects.
    }
  };
};

export const runCli = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> => {
  if (argv[0] === 'inject') {
    const { runInjector } = await import('./injector/main.ts');
    return runInjector(argv.slice(1), env);
  }
  if (argv[0] === 'calls') {
    const { runCallsCommand } = await import('./feed/calls-command.ts');
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    return runCallsCommand(argv.slice(1), env, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      signal: abort.signal,
    });
  }
  let values: {
    config?: string;
    listen?: string;
    admin?: string;
    ui?: string;
    help?: boolean;
    version?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        admin: { type: 'string' },
        ui: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`llmtap: ${(error as Error).message}\nRun llmtap --help for usage.\n`);
    return 2;
  }
  const version = readVersion();
  if (values.help === true) {
    process.stdout.write(helpText(knownProviders));
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${version}\n`);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig(values, env, knownProviders);
  } catch (error) {
    if (error instanceof LlmtapError) {
      process.stderr.write(`llmtap: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  // A reader of stderr that goes away must not turn each later write into an uncaught exception.
  process.stderr.on('error', () => undefined);
  const logger = createLogger(config.logLevel);
  let app: Awaited<ReturnType<typeof startLlmtap>>;
  try {
    app = await startLlmtap(config, env, logger, version);
  } catch (error) {
    process.stderr.write(`llmtap: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(banner(app, config, version));
  logger.info('listening', {
    data: app.server.dataUrl,
    admin: app.server.adminUrl,
    ui: app.ui?.url,
    routes: config.routes.length,
  });
  // Serving now: give start-up's heap back to the OS before the first call (src/heap-compact.ts), then let
  // the old generation grow as V8 does for large heaps, so load does not run a full GC every ~140 ms
  // (src/heap-growth.ts).
  compactHeap();
  widenHeapGrowth();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      logger.info('draining', { signal, drainTimeoutMs: config.timeouts.drainMs });
      app.shutdown().then(
        ({ cut }) => {
          logger.info('stopped', { cutStreams: cut });
          if (logger.sinkError() !== undefined) {
            process.stderr.write(`llmtap: stopped; ${logger.droppedLines()} log lines were dropped\n`);
          }
          resolve(code);
        },
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          resolve(1);
        },
      );
    };
    const onFault = createFaultPolicy({
      logger,
      count: (error) => app.telemetry?.recordError('observer', error),
      onStorm: () => stop('fault storm', 1),
    });
    process.on('uncaughtException', (error, origin) => onFault(error, origin));
    process.on('unhandledRejection', (reason) => onFault(reason, 'unhandledRejection'));
    // A repeated SIGTERM (a runtime or init that forwards signals twice) must not kill the drain: the default
    // action of an unhandled SIGTERM would cut every stream at once. A second Ctrl-C is a person insisting.
    process.on('SIGTERM', () => {
      if (stopping) logger.info('already draining', { signal: 'SIGTERM' });
      stop('SIGTERM', 0);
    });
    process.on('SIGINT', () => {
      if (stopping) process.exit(130);
      stop('SIGINT', 0);
    });
  });
};

// Run only when executed as the entry point (tests import runCli/helpText).
if (import.meta.main) {
  runCli(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
      // Open keep-alive sockets or exporter timers must not hold a stopped sidecar.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`llmtap: fatal: ${redactText((error as Error).stack ?? String(error))}\n`);
      process.exit(1);
    },
  );
}
