/**
 * Starts llmtap itself as a child process, the way a pod runs it: `node src/cli.ts --config <yaml>`,
 * telemetry on (OTLP/HTTP to the bench's no-op sink) or off (`LLMTAP_TELEMETRY=off`).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, waitForHttp } from './net.ts';
import { type Started, start } from './procs.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO, 'src', 'cli.ts');

export const llmtapExists = (): boolean => existsSync(CLI);

export interface LlmtapOptions {
  readonly upstreamPort: number;
  readonly prefix: string;
  readonly telemetry: boolean;
  readonly sinkPort: number;
  readonly tmp: string;
  /** Extra Node flags (heap bounds, --cpu-prof). */
  readonly nodeFlags: readonly string[];
  /** Runtime environment (the manifest's MALLOC_ARENA_MAX …), as every Node proxy gets it. */
  readonly nodeEnv?: Readonly<Record<string, string>> | undefined;
  readonly logLevel?: string | undefined;
  /** The CLI to run: src/cli.ts by default, the compiled dist/src/cli.js with `--built`. */
  readonly cli?: string | undefined;
  /** Extra environment (the soak's heap probe port). */
  readonly extraEnv?: Readonly<Record<string, string>> | undefined;
  /** A file descriptor for the child's stdout (its log lines and V8's GC trace); discarded otherwise. */
  readonly stdoutFd?: number | undefined;
}

export interface RunningLlmtap {
  readonly process: Started;
  readonly port: number;
  readonly adminPort: number;
}

/** The environment of the child: ours minus anything that would redirect its telemetry or change its mode. */
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('OTEL_') && !name.startsWith('LLMTAP_') && name !== 'NODE_OPTIONS')
      env[name] = value;
  }
  return env;
};

export const startLlmtap = async (name: string, options: LlmtapOptions): Promise<RunningLlmtap> => {
  const [port = 0, adminPort = 0] = await freePorts(2);
  const file = join(options.tmp, `${name}-${port}.yaml`);
  const yaml = [
    `listen: 127.0.0.1:${port}`,
    `admin: 127.0.0.1:${adminPort}`,
    ...(options.logLevel === undefined ? [] : [`logLevel: ${options.logLevel}`]),
    'routes:',
    `  - prefix: ${options.prefix}`,
    '    provider: openai',
    `    upstream: http://127.0.0.1:${options.upstreamPort}`,
    '',
  ].join('\n');
  writeFileSync(file, yaml);
  // A short drain keeps shutdown (and the --cpu-prof write that follows it) well inside the stop grace.
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    LLMTAP_DRAIN_TIMEOUT: '1s',
    ...options.nodeEnv,
    ...options.extraEnv,
  };
  if (options.telemetry) {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${options.sinkPort}`;
    env.OTEL_METRIC_EXPORT_INTERVAL = '1000';
  } else {
    env.LLMTAP_TELEMETRY = 'off';
  }
  const started = start(
    name,
    process.execPath,
    [...options.nodeFlags, options.cli ?? CLI, '--config', file],
    {
      env,
      cwd: REPO,
      stdout: options.stdoutFd ?? 'ignore',
    },
  );
  await waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, 20_000, () => true, started);
  return { process: started, port, adminPort };
};
