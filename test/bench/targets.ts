/** The things a cell can be pointed at: direct, the anchors (bare, nginx) and llmtap with telemetry on/off. */
import { fileURLToPath } from 'node:url';
import { startLlmtap } from './llmtap.ts';
import { freePort } from './net.ts';
import { startNginx } from './nginx.ts';
import { firstJsonLine, type Started, start, stop } from './procs.ts';

export type TargetName = 'direct' | 'bare' | 'nginx' | 'llmtap' | 'llmtap-notel';

export const PREFIX = '/openai';

export interface Target {
  readonly name: TargetName;
  /** Clients call `${base}/v1/chat/completions`. */
  readonly base: string;
  /** The proxy process to measure; undefined for direct. */
  readonly process: Started | undefined;
  stop(): Promise<void>;
}

export interface TargetEnv {
  readonly upstreamPort: number;
  readonly sinkPort: number;
  readonly tmp: string;
  readonly nginx: string | undefined;
  readonly nodeFlags: readonly string[];
  /** Runtime environment for every Node proxy (the manifest's MALLOC_ARENA_MAX …); kept apart from extraEnv. */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly llmtapLogLevel: string | undefined;
  readonly extraEnv?: Readonly<Record<string, string>> | undefined;
  /** Compiled entry points (`--built`); the TypeScript sources otherwise. */
  readonly built?: { readonly cli: string; readonly bare: string } | undefined;
}

const BARE = fileURLToPath(new URL('./bare-proxy.ts', import.meta.url));

const proxied = (name: TargetName, port: number, process: Started): Target => ({
  name,
  base: `http://127.0.0.1:${port}${PREFIX}`,
  process,
  stop: () => stop(process),
});

export const startTarget = async (name: TargetName, env: TargetEnv): Promise<Target> => {
  switch (name) {
    case 'direct':
      return { name, base: `http://127.0.0.1:${env.upstreamPort}`, process: undefined, stop: async () => {} };
    case 'bare': {
      const config = { upstream: `http://127.0.0.1:${env.upstreamPort}`, prefix: PREFIX };
      const started = start(
        'bare',
        process.execPath,
        [...env.nodeFlags, env.built?.bare ?? BARE, JSON.stringify(config)],
        { env: { ...process.env, ...env.nodeEnv, ...env.extraEnv } },
      );
      const { port } = await firstJsonLine<{ port: number }>(started, 10_000);
      return proxied(name, port, started);
    }
    case 'nginx': {
      if (env.nginx === undefined) throw new Error('nginx is not installed');
      const port = await freePort();
      return proxied(name, port, await startNginx(env.nginx, env.tmp, port, env.upstreamPort, PREFIX));
    }
    case 'llmtap':
    case 'llmtap-notel': {
      const running = await startLlmtap(name, {
        upstreamPort: env.upstreamPort,
        prefix: PREFIX,
        telemetry: name === 'llmtap',
        sinkPort: env.sinkPort,
        tmp: env.tmp,
        nodeFlags: env.nodeFlags,
        nodeEnv: env.nodeEnv,
        logLevel: env.llmtapLogLevel,
        extraEnv: env.extraEnv,
        cli: env.built?.cli,
      });
      // Enough grace for drain, the telemetry flush and a --cpu-prof write.
      return { ...proxied(name, running.port, running.process), stop: () => stop(running.process, 8000) };
    }
  }
};
