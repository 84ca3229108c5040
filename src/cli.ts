#!/usr/bin/env node
/**
 * The `llmtap` command. `llmtap` runs the sidecar; `llmtap inject` runs the admission webhook.
 * The only module that touches `process` (argv, env, signals, exit code).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from './config/load.ts';
import { LlmtapError } from './errors.ts';
import { createLogger } from './log.ts';
import { banner, knownProviders, startLlmtap } from './main.ts';

const readVersion = (): string => {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'llmtap' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next layout (source tree vs dist/)
    }
  }
  return '0.0.0';
};

export const helpText = (providers: readonly string[]): string => `llmtap — OpenTelemetry for every LLM call your pod makes

Usage:
  llmtap [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT]
  llmtap inject [--help]        run the Kubernetes admission webhook that injects llmtap
  llmtap --help | --version

Point your LLM client's base URL at the data plane, e.g.
  OPENAI_BASE_URL=http://127.0.0.1:4545/openai/v1
  ANTHROPIC_BASE_URL=http://127.0.0.1:4545/anthropic

Flags:
  --config FILE        YAML config (listen, admin, routes, limits, timeouts, logLevel)   env LLMTAP_CONFIG
  --listen HOST:PORT   data plane listener (default 127.0.0.1:4545)                       env LLMTAP_LISTEN
  --admin HOST:PORT    admin listener: GET /healthz, GET /readyz (default 0.0.0.0:4546)    env LLMTAP_ADMIN_LISTEN
  -h, --help           this text
  -v, --version        print the version

Environment:
  LLMTAP_DRAIN_TIMEOUT   how long in-flight streams may finish after SIGTERM (default 30s; 500ms, 2m…)
  LLMTAP_LOG_LEVEL       debug | info | warn | error | silent (default info)
  LLMTAP_TELEMETRY       on | off — off forwards only: no parsing, no export (default on)
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

export const runCli = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> => {
  if (argv[0] === 'inject') {
    const { runInjector } = await import('./injector/main.ts');
    return runInjector(argv.slice(1), env);
  }
  let values: { config?: string; listen?: string; admin?: string; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        admin: { type: 'string' },
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
  const logger = createLogger(config.logLevel);
  let app: Awaited<ReturnType<typeof startLlmtap>>;
  try {
    app = await startLlmtap(config, env, logger, version);
  } catch (error) {
    process.stderr.write(`llmtap: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(banner(app, config, version));
  logger.info('listening', { data: app.server.dataUrl, admin: app.server.adminUrl, routes: config.routes.length });

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('draining', { signal, drainTimeoutMs: config.timeouts.drainMs });
      app.shutdown().then(
        ({ cut }) => {
          logger.info('stopped', { cutStreams: cut });
          resolve(0);
        },
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
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
      process.stderr.write(`llmtap: fatal: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
