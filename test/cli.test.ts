/** The `llmtap` command as a user runs it: help, version, config errors, start, proxy, SIGTERM. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adapterIds } from '../providers/index.ts';
import { rawRequest } from './helpers/client.ts';
import { startUpstream } from './helpers/upstream.ts';

const cli = new URL('../src/cli.ts', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const launch = (args: string[], env: Record<string, string> = {}): ChildProcess => {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
};

const runToEnd = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
  const child = launch(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
};

describe('llmtap CLI', () => {
  it('--version prints the package version', async () => {
    const run = await runToEnd(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('--help documents every flag, env var and provider id', async () => {
    const run = await runToEnd(['--help']);
    expect(run.code).toBe(0);
    for (const word of [
      '--config',
      '--listen',
      '--admin',
      '--version',
      'LLMTAP_CONFIG',
      'LLMTAP_LISTEN',
      'LLMTAP_ADMIN_LISTEN',
      'LLMTAP_DRAIN_TIMEOUT',
      'LLMTAP_LOG_LEVEL',
      'LLMTAP_TELEMETRY',
      'LLMTAP_MODE',
      'LLMTAP_SEMCONV_COMPAT',
      'LLMTAP_PRICES',
      'LLMTAP_PODINFO_DIR',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
      'HTTPS_PROXY',
      'NODE_EXTRA_CA_CERTS',
      ...adapterIds,
    ]) {
      expect(run.stdout, word).toContain(word);
    }
  });

  it('exits non-zero without listening on a bad config file, naming the key and value', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmtap-cli-')), 'bad.yaml');
    writeFileSync(path, 'routes:\n  - {prefix: /x, provider: openai, upstream: "not a url"}\n');
    const run = await runToEnd(['--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path}: routes[0].upstream`);
    expect(run.stderr).toContain('"not a url"');
    expect(run.stdout).not.toContain('listening');
  });

  it('refuses unknown flags with a usage hint', async () => {
    const run = await runToEnd(['--colour']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--help');
  });

  it('starts, prints where it listens and its routes, proxies, and exits 0 on SIGTERM', async () => {
    const upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"seen":"${req.url}"}`);
    });
    const path = join(mkdtempSync(join(tmpdir(), 'llmtap-cli-')), 'ok.yaml');
    writeFileSync(
      path,
      `routes:\n  - {prefix: /local, provider: openai-compatible, upstream: "${upstream.url}"}\n`,
    );
    const child = launch(['--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {
      LLMTAP_DRAIN_TIMEOUT: '2s',
    });
    let stderr = '';
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await expect.poll(() => /admin\s+(http:\S+)/.exec(stderr)?.[1], { timeout: 45_000 }).toBeDefined();
    const data = /data plane\s+(http:\S+)/.exec(stderr)?.[1] as string;
    const admin = /admin\s+(http:\S+)/.exec(stderr)?.[1] as string;
    expect(stderr).toContain(`${data}/local`);
    expect(stderr).toContain(`${data}/openai`);
    expect(stderr).toContain('https://api.openai.com');
    expect((await rawRequest(`${admin}/readyz`)).status).toBe(200);
    expect((await rawRequest(`${admin}/healthz`)).status).toBe(200);
    const response = await rawRequest(`${data}/local/v1/models?x=1`);
    expect(response.body.toString()).toBe('{"seen":"/v1/models?x=1"}');
    await expect.poll(() => stdout.includes('"msg":"request"')).toBe(true);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stdout).toContain('"msg":"stopped"');
    await upstream.close();
  });
});
