/** Starts the proxy core in-process on 127.0.0.1:0 with a config built through the real loader. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import type { CallTap, TapFactory } from '../../src/proxy/tap.ts';
import { type ProxyServer, startProxyServer } from '../../src/server/proxy-server.ts';

export const testProviderIds = [
  'openai',
  'anthropic',
  'gemini',
  'mistral',
  'cohere',
  'groq',
  'deepseek',
  'together',
  'openrouter',
  'xai',
  'bedrock',
  'ollama',
  'azure-openai',
  'vertex-ai',
  'openai-compatible',
];

export interface LogCapture {
  readonly lines: string[];
  readonly logger: Logger;
}

export const captureLogs = (): LogCapture => {
  const lines: string[] = [];
  return { lines, logger: createLogger('debug', { write: (line: string) => lines.push(line) }) };
};

export const testConfig = (file: Record<string, unknown>, env: Record<string, string> = {}): Config => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-test-'));
  const path = join(dir, 'llmtap.yaml');
  writeFileSync(path, stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...file }));
  return loadConfig({ config: path }, env, testProviderIds);
};

export interface TestProxy extends ProxyServer {
  readonly logs: string[];
}

export const startTestProxy = async (
  file: Record<string, unknown>,
  options: {
    tapFactory?: TapFactory;
    env?: Record<string, string>;
  } = {},
): Promise<TestProxy> => {
  const { lines, logger } = captureLogs();
  const server = await startProxyServer({
    config: testConfig(file),
    logger,
    tapFactory: options.tapFactory,
    env: options.env ?? {},
  });
  return Object.assign(server, { logs: lines });
};

/** A tap that keeps every byte it is shown, for tests that prove the copy equals what was forwarded. */
export interface RecordingTap {
  readonly calls: {
    request: Buffer[];
    response: Buffer[];
    status?: number;
    ended?: { complete: boolean; transportError?: string | undefined; copyTruncated: boolean };
    firstResponseAt?: number;
    lastResponseAt?: number;
  }[];
  readonly factory: TapFactory;
}

export const recordingTap = (): RecordingTap => {
  const calls: RecordingTap['calls'] = [];
  const factory: TapFactory = {
    open() {
      const call: RecordingTap['calls'][number] = { request: [], response: [] };
      calls.push(call);
      const tap: CallTap = {
        requestBody: (chunk) => call.request.push(Buffer.from(chunk)),
        requestEnd: () => {},
        upstreamRequestSent: () => {},
        responseHead: (status) => {
          call.status = status;
        },
        responseBody: (chunk, at) => {
          call.response.push(Buffer.from(chunk));
          call.firstResponseAt ??= at;
          call.lastResponseAt = at;
        },
        clientFirstByte: () => {},
        end: (result) => {
          call.ended = result;
          return undefined;
        },
      };
      return tap;
    },
  };
  return { calls, factory };
};
