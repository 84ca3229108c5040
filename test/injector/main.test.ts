/** `runInjector` as a real process: flags, JSON log lines, /healthz, one review, SIGTERM → exit 0. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../deploy/kubectl.ts';
import { call } from './client.ts';
import { deploymentPod, type Json, review } from './fixtures.ts';
import { makeTestCa } from './tls.ts';

const script = `import { runInjector } from './src/injector/main.ts';
process.exitCode = await runInjector(process.argv.slice(1), process.env);`;

interface Running {
  readonly child: ChildProcess;
  readonly lines: Json[];
  readonly stderr: () => string;
  /** Resolves with the first log line that matches, or rejects after `ms`. */
  waitFor(msg: string, ms?: number): Promise<Json>;
  exit(ms?: number): Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const start = (args: string[], env: Record<string, string> = {}): Running => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Json[] = [];
  let stderr = '';
  let buffer = '';
  const waiters: Array<{ msg: string; resolve: (line: Json) => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Json;
      lines.push(line);
      for (const w of waiters.filter((x) => x.msg === line.msg)) w.resolve(line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor: (msg, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => l.msg === msg);
        if (seen !== undefined) return resolve(seen);
        const timer = setTimeout(
          () => reject(new Error(`no "${msg}" log line within ${ms} ms: ${stderr}`)),
          ms,
        );
        waiters.push({
          msg,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => reject(new Error(`exited before "${msg}": ${stderr}`)));
      }),
    exit: (ms = 15_000) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('did not exit in time')), ms).unref(),
        ),
      ]),
  };
};

describe('llmtap inject (process)', () => {
  it('listens with the given cert, answers reviews, logs JSON, and exits 0 on SIGTERM', async () => {
    const ca = makeTestCa();
    const pair = ca.issue('serving');
    const run = start(
      [
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        pair.certFile,
        '--tls-key',
        pair.keyFile,
        '--tls-reload-interval',
        '0',
        '--shutdown-delay',
        '3s',
      ],
      { K8S_NAMESPACE_NAME: 'llmtap-system' },
    );
    const listening = await run.waitFor('injector listening');
    // Default --sidecar-mode=auto, and no API server to ask here: classic, which works everywhere.
    expect(listening).toMatchObject({ level: 'info', address: '127.0.0.1', mode: 'classic' });
    expect(listening.modeReason).toMatch(/^auto: API server version unknown \(not in a cluster\)/);
    expect(listening.excludedNamespaces).toContain('llmtap-system');
    const port = listening.port as number;

    expect((await call(port, ca.caCert, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const reply = await call(port, ca.caCert, { body: JSON.stringify(review(deploymentPod())) });
    const body = JSON.parse(reply.text) as { response: { allowed: boolean; patchType?: string } };
    expect(body.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    const logged = await run.waitFor('admission review');
    expect(logged).toMatchObject({ decision: 'injected', serviceName: 'checkout', namespace: 'shop' });

    expect((await call(port, ca.caCert, { method: 'GET', path: '/readyz' })).status).toBe(200);
    run.child.kill('SIGTERM');
    // During the shutdown delay: not ready, but still alive and still answering reviews.
    expect(await run.waitFor('injector stopping')).toMatchObject({
      signal: 'SIGTERM',
      shutdownDelayMs: 3000,
    });
    expect((await call(port, ca.caCert, { method: 'GET', path: '/readyz' })).status).toBe(503);
    expect((await call(port, ca.caCert, { method: 'GET', path: '/healthz' })).status).toBe(200);
    const late = await call(port, ca.caCert, { body: JSON.stringify(review(deploymentPod())) });
    expect((JSON.parse(late.text) as { response: { patchType?: string } }).response.patchType).toBe(
      'JSONPatch',
    );
    expect(await run.exit()).toBe(0);
    expect(run.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['injector listening', 'injector stopping', 'injector stopped']),
    );
  });

  it('--sidecar-mode=auto asks the API server: 1.30 → native sidecars, recorded on the pod', async () => {
    const ca = makeTestCa();
    const pair = ca.issue('serving');
    const api = createServer({ cert: pair.cert, key: readFileSync(pair.keyFile) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ major: '1', minor: '30+', gitVersion: 'v1.30.4-eks-a737599' }));
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    try {
      const apiPort = (api.address() as AddressInfo).port;
      const run = start([
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        pair.certFile,
        '--tls-key',
        pair.keyFile,
        '--tls-reload-interval',
        '0',
        '--kube-api',
        `https://127.0.0.1:${apiPort}`,
        '--kube-ca',
        join(ca.dir, 'ca.crt'),
      ]);
      const listening = await run.waitFor('injector listening');
      expect(listening).toMatchObject({
        mode: 'native',
        modeReason: 'auto: API server v1.30.4-eks-a737599 >= 1.29',
      });
      const reply = await call(listening.port as number, ca.caCert, {
        body: JSON.stringify(review(deploymentPod())),
      });
      const response = (JSON.parse(reply.text) as { response: { patch: string } }).response;
      const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Array<{
        path: string;
        value: unknown;
      }>;
      expect(patch.some((op) => op.path.startsWith('/spec/initContainers'))).toBe(true);
      const statusOp = patch.find(
        (op) => op.path.endsWith('llmtap.io~1status') || op.path.endsWith('/annotations'),
      );
      const status =
        typeof statusOp?.value === 'string'
          ? statusOp.value
          : (statusOp?.value as Record<string, string> | undefined)?.['llmtap.io/status'];
      expect(JSON.parse(status ?? '{}')).toMatchObject({
        mode: 'native',
        modeReason: expect.stringContaining('v1.30.4'),
      });
      run.child.kill('SIGTERM');
      expect(await run.exit()).toBe(0);
    } finally {
      api.close();
    }
  });

  it('exits 1 with a coded log line when the certificate cannot be loaded', async () => {
    const ca = makeTestCa();
    const pair = ca.issue('serving');
    const other = ca.issue('other');
    // other.keyFile does not belong to pair.certFile.
    const run = start(['--listen', '127.0.0.1:0', '--tls-cert', pair.certFile, '--tls-key', other.keyFile]);
    expect(await run.exit()).toBe(1);
    expect(run.lines.find((l) => l.msg === 'injector failed to start')).toMatchObject({
      level: 'error',
      code: 'LLMTAP_INJECTOR_TLS',
    });
  });

  it('exits 2 on bad flags and 0 on --help, with the usage text', async () => {
    const bad = start(['--sidecar-mode', 'sideways']);
    expect(await bad.exit()).toBe(2);
    expect(bad.stderr()).toMatch(/--sidecar-mode/);
    const help = start(['--help']);
    expect(await help.exit()).toBe(0);
  });
});
