/**
 * `llmtap inject`: runs the admission webhook until SIGTERM/SIGINT, then reports not-ready for the shutdown
 * delay, stops accepting, lets in-flight reviews finish and resolves with the exit code (0 after a signal,
 * 1 on a start-up failure, 2 on bad flags).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createLogger, type Logger } from '../log.ts';
import { InjectorError } from './errors.ts';
import { injectorUsage, parseInjectorFlags } from './flags.ts';
import { handleReview } from './handler.ts';
import type { InjectOptions } from './mutate.ts';
import { startInjectorServer } from './server.ts';
import { detectSidecarMode, inClusterApiUrl, type ModeChoice } from './server-version.ts';
import { defaultTemplatePath, loadTemplate } from './template.ts';

/** The package version, from the nearest package.json above this module (source or dist). */
const packageVersion = (): string => {
  let dir = import.meta.dirname;
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const version = (JSON.parse(readFileSync(candidate, 'utf8')) as { version?: unknown }).version;
      if (typeof version === 'string') return version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
};

const waitForSignal = (): Promise<NodeJS.Signals> =>
  new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

export const runInjector = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> => {
  let flags: ReturnType<typeof parseInjectorFlags>;
  try {
    flags = parseInjectorFlags(argv, env);
  } catch (error) {
    process.stderr.write(`llmtap inject: ${(error as Error).message}\n\n${injectorUsage}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(injectorUsage);
    return 0;
  }
  const logger: Logger = createLogger(flags.logLevel);
  try {
    const templateFile = flags.templateFile ?? defaultTemplatePath(existsSync);
    if (templateFile === undefined) {
      throw new InjectorError(
        'LLMTAP_INJECTOR_TEMPLATE',
        'sidecar template not found; pass --sidecar-template',
      );
    }
    const template = loadTemplate(templateFile);
    // auto: asked once at start and again every 10 minutes (a cluster upgrade needs no injector restart).
    const detect = (): Promise<ModeChoice> =>
      detectSidecarMode({
        apiUrl: flags.kubeApi ?? inClusterApiUrl(env),
        caFile: flags.kubeCaFile,
        timeoutMs: 3000,
      });
    let choice: ModeChoice =
      flags.mode === 'auto' ? await detect() : { mode: flags.mode, reason: `--sidecar-mode=${flags.mode}` };
    const options: InjectOptions = {
      template,
      mode: choice.mode,
      modeReason: choice.reason,
      image: flags.image,
      proxyUrl: flags.proxyUrl,
      defaultProviders: flags.defaultProviders,
      excludedNamespaces: flags.excludedNamespaces,
      version: packageVersion(),
    };
    const server = await startInjectorServer({
      host: flags.host,
      port: flags.port,
      certFile: flags.certFile,
      keyFile: flags.keyFile,
      reloadIntervalMs: flags.reloadIntervalMs,
      maxBodyBytes: 4 * 1024 * 1024,
      review: (body) => handleReview(body, { ...options, mode: choice.mode, modeReason: choice.reason }),
      logger,
    });
    const signalled = waitForSignal();
    const refresh =
      flags.mode === 'auto'
        ? setInterval(() => {
            void detect().then((next) => {
              if (next.detected !== true && choice.detected === true) return;
              if (next.mode !== choice.mode)
                logger.warn('sidecar mode changed', { mode: next.mode, reason: next.reason });
              choice = next;
            });
          }, 600_000)
        : undefined;
    refresh?.unref();
    logger.info('injector listening', {
      address: server.address.address,
      port: server.address.port,
      mode: choice.mode,
      modeReason: choice.reason,
      image: options.image ?? template.container.image,
      template: templateFile,
      excludedNamespaces: [...flags.excludedNamespaces],
    });
    const signal = await signalled;
    clearInterval(refresh);
    // Endpoints update after SIGTERM, not before: keep answering until the Service has moved on, since
    // a review that cannot connect means a pod created without llmtap (failurePolicy: Ignore).
    server.setDraining();
    logger.info('injector stopping', { signal, shutdownDelayMs: flags.shutdownDelayMs });
    await new Promise((resolve) => setTimeout(resolve, flags.shutdownDelayMs));
    await server.close();
    logger.info('injector stopped');
    return 0;
  } catch (error) {
    const code = error instanceof InjectorError ? error.code : 'LLMTAP_INJECTOR_ERROR';
    logger.error('injector failed to start', { code, error });
    return 1;
  }
};
