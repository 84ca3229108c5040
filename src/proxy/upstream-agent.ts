/**
 * The upstream dispatcher: one undici pool per upstream origin, with llmtap's timeouts, honouring
 * HTTP(S)_PROXY/NO_PROXY like any well-behaved client. The variables come from the environment the composition
 * root hands in, never from `process.env` behind the config's back.
 */
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import type { Timeouts } from '../config/schema.ts';

export type EgressEnv = Readonly<Record<string, string | undefined>>;

export const createUpstreamAgent = (timeouts: Timeouts, env: EgressEnv): Dispatcher => {
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  const pool = {
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.upstreamHeadersMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
    maxResponseSize: -1,
  };
  // Without an egress proxy a plain pool: the env agent's per-request NO_PROXY lookup showed in profiles.
  return httpProxy || httpsProxy
    ? new EnvHttpProxyAgent({
        ...(httpProxy ? { httpProxy } : {}),
        ...(httpsProxy ? { httpsProxy } : {}),
        ...(noProxy ? { noProxy } : {}),
        ...pool,
      })
    : new Agent(pool);
};
