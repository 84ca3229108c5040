/** Starts the whole product in-process (config → adapters → capture → telemetry → proxy) for end-to-end tests. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { adapterIds } from '../../providers/index.ts';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { type Llmtap, startLlmtap } from '../../src/main.ts';
import { captureLogs } from './proxy.ts';

export interface TestLlmtap extends Llmtap {
  readonly config: Config;
  readonly logs: string[];
  /** Parsed `request` log lines (one per proxied request, with the call's GenAI fields). */
  requestLogs(): Record<string, unknown>[];
}

export const startFullLlmtap = async (
  file: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<TestLlmtap> => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-e2e-'));
  const path = join(dir, 'llmtap.yaml');
  writeFileSync(
    path,
    stringify({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ui: { listen: '127.0.0.1:0' }, ...file }),
  );
  let config: Config;
  try {
    config = loadConfig({ config: path }, env, adapterIds);
  } finally {
    // The file is read once, here; a test run would otherwise leave a directory behind per start.
    rmSync(dir, { recursive: true, force: true });
  }
  const { lines, logger } = captureLogs();
  const app = await startLlmtap(config, env, logger, '0.0.0-test');
  return Object.assign(app, {
    config,
    logs: lines,
    requestLogs: () =>
      lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.msg === 'request'),
  });
};
