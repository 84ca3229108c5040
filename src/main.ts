/**
 * The composition root: config → adapters → telemetry → capture → proxy server. The only module that
 * knows every layer; everything below it is handed what it needs.
 */
import { adapterById, adapterIds } from '../providers/index.ts';
import { createCaptureTapFactory } from './capture/capture-tap.ts';
import { createRealtimeTapFactory } from './capture/realtime-tap.ts';
import type { Config } from './config/load.ts';
import type { CallFeed } from './feed/call-feed.ts';
import type { UiServer } from './feed/ui-server.ts';
import type { Logger } from './log.ts';
import type { TapFactory } from './proxy/tap.ts';
import type { WebSocketTapFactory } from './proxy/websocket-tap.ts';
import { type ProxyServer, startProxyServer } from './server/proxy-server.ts';
import { contentAttributes } from './telemetry/attributes.ts';
import { createTelemetry, type Telemetry } from './telemetry/index.ts';
import { PROMETHEUS_CONTENT_TYPE } from './telemetry/prometheus.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Llmtap {
  readonly server: ProxyServer;
  readonly telemetry: Telemetry | undefined;
  /** The live view's listener (`--ui`); undefined when off, when telemetry is off, or when it could not listen. */
  readonly ui: UiServer | undefined;
  /** Why the live view is not running, for the banner. */
  readonly uiProblem?: string | undefined;
  /** Drain in-flight calls (up to the configured drain timeout), flush telemetry, close listeners. */
  shutdown(): Promise<{ cut: number }>;
}

export const knownProviders: readonly string[] = adapterIds;

/** Starts llmtap in this process with a validated config. */
export const startLlmtap = async (
  config: Config,
  env: Env,
  logger: Logger,
  version: string,
): Promise<Llmtap> => {
  // Adapters cut captured content at maxCapturedChars and keep it valid JSON; the attribute cap is only a
  // backstop, with room for the JSON structure around the captured text.
  const maxContentChars = Math.max(16_384, 2 * config.limits.maxCapturedChars);
  const telemetry = config.telemetry
    ? await createTelemetry({ env, logger, version, maxContentChars, semconvCompat: config.semconvCompat })
    : undefined;
  let tapFactory: TapFactory | undefined;
  let webSocketTapFactory: WebSocketTapFactory | undefined;
  // The live view's feed wraps the telemetry observer (it shows what the log line says); loaded only when on.
  let feed: CallFeed | undefined;
  if (telemetry !== undefined && config.ui.listen !== 'off') {
    const { createCallFeed } = await import('./feed/call-feed.ts');
    feed = createCallFeed({
      capacity: config.ui.calls,
      captureContent: telemetry.captureContent,
      contentOf: (call) => contentAttributes(call.content, maxContentChars),
    });
  }
  if (telemetry !== undefined) {
    const capture = createCaptureTapFactory({
      adapterFor: (route) => adapterById(route.provider),
      observer: feed?.observe(telemetry) ?? telemetry,
      limits: config.limits,
      parseOptions: {
        captureContent: telemetry.captureContent,
        maxCapturedChars: config.limits.maxCapturedChars,
      },
      onError: (stage, error) => telemetry.recordError(stage, error),
    });
    // A route in mode `off` gets no tap at all: no copy, no parsing, no usage injection, no export.
    tapFactory = { open: (context) => (context.route.mode === 'off' ? undefined : capture.open(context)) };
    // Realtime responses go through the same (feed-wrapped) observer; the session span is telemetry's alone.
    const callObserver = feed?.observe(telemetry) ?? telemetry;
    const realtime = createRealtimeTapFactory({
      adapterFor: (route) => adapterById(route.provider),
      observer: {
        start: (context) => callObserver.start(context),
        openSession: (context) => telemetry.openSession(context),
      },
      limits: config.limits,
      onError: (stage, error) => telemetry.recordError(stage, error),
      logger,
    });
    webSocketTapFactory = {
      open: (context) => (context.route.mode === 'off' ? undefined : realtime.open(context)),
    };
  }
  const server = await startProxyServer({
    config,
    logger,
    tapFactory,
    webSocketTapFactory,
    onTapError: (error) => telemetry?.recordError('observer', error),
    admin: {
      metrics:
        telemetry?.prometheusText === undefined
          ? undefined
          : { text: telemetry.prometheusText, contentType: PROMETHEUS_CONTENT_TYPE },
    },
    env,
  });
  let ui: UiServer | undefined;
  let uiProblem: string | undefined;
  if (feed !== undefined) {
    const { startUiServer } = await import('./feed/ui-server.ts');
    try {
      ui = await startUiServer({ feed, listen: config.ui.listen, logger });
    } catch (error) {
      // A convenience view must not keep the data plane from serving: warn and run without it.
      uiProblem = `cannot listen on ${config.ui.listen} (${(error as { code?: string }).code ?? (error as Error).message})`;
      logger.warn('live view unavailable', { listen: config.ui.listen, error });
    }
  }
  let shutdown: Promise<{ cut: number }> | undefined;
  return {
    server,
    telemetry,
    ui,
    uiProblem,
    shutdown() {
      shutdown ??= (async () => {
        const result = await server.drain(config.timeouts.drainMs);
        await ui?.close();
        await telemetry?.shutdown();
        return result;
      })();
      return shutdown;
    },
  };
};

const liveView = (app: Llmtap, config: Config): string => {
  if (app.ui !== undefined) return `${app.ui.url}/  (GET /calls, /calls/stream; llmtap calls --follow)`;
  if (app.uiProblem !== undefined) return `unavailable: ${app.uiProblem}`;
  if (config.ui.listen === 'off') return 'off (LLMTAP_UI_LISTEN=off)';
  return 'off (LLMTAP_MODE=off: nothing is observed)';
};

/** The human start-up banner: where llmtap listens, what it exports, and its route table. */
export const banner = (app: Llmtap, config: Config, version: string): string => {
  const width = Math.max(...config.routes.map((route) => route.prefix.length));
  const lines = [
    `llmtap ${version} — config: ${config.source}`,
    `  data plane  ${app.server.dataUrl}`,
    `  admin       ${app.server.adminUrl}  (GET /healthz, GET /readyz${app.telemetry?.prometheusText === undefined ? '' : ', GET /metrics'})`,
    `  telemetry   ${app.telemetry?.describe() ?? 'off (LLMTAP_MODE=off): forwarding only'}`,
    `  mode        ${config.mode}${config.semconvCompat === 'off' ? '' : `; legacy names: ${config.semconvCompat}`}`,
    `  live view   ${liveView(app, config)}`,
    '  routes:',
    ...config.routes.map(
      (route) =>
        `    ${app.server.dataUrl}${route.prefix.padEnd(width)}  →  ${route.upstream}  [${route.provider}]${
          route.mode === config.mode ? '' : ` mode ${route.mode}`
        }`,
    ),
  ];
  return `${lines.join('\n')}\n`;
};
