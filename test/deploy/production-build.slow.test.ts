/**
 * The production build the Dockerfile makes, without Docker: its build step (the bundle), its runtime file
 * layout (no node_modules), then the built CLI started with the kustomize base's ConfigMap config and the
 * sidecar manifest's env, against a fake upstream and a fake OTLP receiver on 127.0.0.1.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { call } from '../injector/client.ts';
import { makeTestCa } from '../injector/tls.ts';
import { parseDockerfile } from './dockerfile.ts';
import { kustomize, repoRoot } from './kubectl.ts';
import type { Container } from './sidecar-assertions.ts';

const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1);
const app = mkdtempSync(join(tmpdir(), 'llmtap-prod-'));

const listFiles = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((f) => !f.startsWith('node_modules')).sort();

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-prodbuild',
    object: 'chat.completion',
    created: 1_764_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
  }),
);
const upstreamSeen: Array<{ method: string; url: string; authorization: string | undefined; body: string }> =
  [];
const upstream = createServer(async (req, res) => {
  const body = await readBody(req);
  upstreamSeen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    authorization: req.headers.authorization,
    body: body.toString(),
  });
  res
    .writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length })
    .end(completion);
});
const otlpSeen: string[] = [];
const otlp = createServer(async (req, res) => {
  await readBody(req);
  otlpSeen.push(req.url ?? '');
  res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
});

let child: ChildProcess | undefined;

beforeAll(async () => {
  if (runtime === undefined) throw new Error('Dockerfile has no stages');
  // Build stage: `npm run build`, into the temp app dir instead of ./dist.
  execSync(`npm run build -- --outDir ${JSON.stringify(join(app, 'dist'))}`, {
    cwd: repoRoot,
    stdio: 'pipe',
    timeout: 240_000,
  });
  // No production install: the runtime stage copies no node_modules, and the temp dir has none above it.
  expect(runtime.instructions.filter((i) => /node_modules/.test(i.args))).toEqual([]);
  cpSync(join(repoRoot, 'package.json'), join(app, 'package.json'));
  // Runtime stage: the files it copies from the build context.
  for (const copy of runtime.instructions.filter(
    (i) => i.keyword === 'COPY' && !i.args.startsWith('--from='),
  )) {
    const [src, dest] = copy.args.split(/\s+/);
    if (src === undefined || dest === undefined || src === 'package.json') continue;
    mkdirSync(dirname(join(app, dest)), { recursive: true });
    cpSync(join(repoRoot, src), join(app, dest));
  }
  await Promise.all([listen(upstream), listen(otlp)]);
}, 300_000);

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  upstream.close();
  otlp.close();
  rmSync(app, { recursive: true, force: true });
});

describe('production build (Dockerfile steps, no Docker)', () => {
  it('starts with the base ConfigMap config, is ready, proxies a call unchanged, and exits 0 on SIGTERM', async () => {
    const docs = kustomize('deploy/base');
    const configMap = docs.find((d) => d.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { initContainers: Container[] } } };
    };
    const sidecar = deployment.spec.template.spec.initContainers.find(
      (c) => c.name === 'llmtap',
    ) as Container;

    // The base's config, with ports the test can own and /openai pointed at the fake upstream.
    const config = parseYaml(configMap.data['config.yaml'] ?? '') as Record<string, unknown>;
    expect(config.listen).toBe('127.0.0.1:4545');
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const testConfig = {
      ...config,
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      routes: [
        ...((config.routes as unknown[]) ?? []),
        { prefix: '/openai', provider: 'openai', upstream: `http://127.0.0.1:${upstreamPort}` },
      ],
    };
    const configFile = join(app, 'config.yaml');
    writeFileSync(configFile, stringifyYaml(testConfig));
    const podinfo = join(app, 'podinfo');
    mkdirSync(podinfo, { recursive: true });
    writeFileSync(
      join(podinfo, 'labels'),
      'app.kubernetes.io/name="chat-app"\npod-template-hash="7d4b9c8f6d"\n',
    );
    writeFileSync(join(podinfo, 'annotations'), 'kubernetes.io/config.source="api"\n');

    // The manifest's env: literal values as written, Downward API and Secret values as the kubelet would set them.
    const fake: Record<string, string> = {
      K8S_POD_NAME: 'chat-app-7d4b9c8f6d-x2x9k',
      K8S_NAMESPACE_NAME: 'shop',
      K8S_POD_UID: '4f8a1c2e-6b3d-4e5f-9a7b-8c9d0e1f2a3b',
      K8S_NODE_NAME: 'node-1',
      K8S_POD_IP: '10.0.0.12',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20otlp-test-token',
      LLMTAP_CONFIG: configFile,
      LLMTAP_PODINFO_DIR: podinfo,
    };
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
    for (const e of sidecar.env ?? []) {
      const value = fake[e.name] ?? e.value;
      expect(value, `no value for ${e.name}`).toBeTypeOf('string');
      env[e.name] = value as string;
    }

    const filesBefore = listFiles(app);
    child = spawn(process.execPath, [join(app, 'dist/llmtap.js')], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const listening = await new Promise<{ data: string; admin: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line in 20 s: ${stderr}`)), 20_000);
      child?.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const parsed = JSON.parse(line) as { msg?: string; data?: string; admin?: string };
          if (parsed.msg === 'listening' && parsed.data !== undefined && parsed.admin !== undefined) {
            clearTimeout(timer);
            resolve({ data: parsed.data, admin: parsed.admin });
          }
        }
      });
      void exited.then(() => reject(new Error(`exited before listening: ${stderr}`)));
    });

    expect((await fetch(`${listening.admin}/readyz`)).status).toBe(200);
    expect((await fetch(`${listening.admin}/healthz`)).status).toBe(200);

    const request = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    const reply = await fetch(`${listening.data}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-prodbuild-0000000000' },
      body: request,
    });
    expect(reply.status).toBe(200);
    expect(Buffer.from(await reply.arrayBuffer())).toEqual(completion);
    expect(upstreamSeen).toEqual([
      {
        method: 'POST',
        url: '/v1/chat/completions',
        authorization: 'Bearer sk-test-prodbuild-0000000000',
        body: request,
      },
    ]);

    child.kill('SIGTERM');
    const [code] = (await Promise.race([
      exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no exit 20 s after SIGTERM: ${stderr}`)), 20_000),
      ),
    ])) as [number | null];
    expect(code).toBe(0);
    // Telemetry was flushed on the way out; the API key never reached stdout or stderr.
    expect(otlpSeen).toContain('/v1/traces');
    expect(stdout + stderr).not.toContain('sk-test-prodbuild');
    // Read-only root filesystem: the process wrote nothing under its app directory.
    expect(listFiles(app)).toEqual(filesBefore);
  }, 60_000);

  it('runs `llmtap inject` from the built tree with the sidecar template the image ships', async () => {
    const ca = makeTestCa();
    const pair = ca.issue('serving');
    const args = [
      'inject',
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      pair.certFile,
      '--tls-key',
      pair.keyFile,
    ];
    const injector = spawn(process.execPath, [join(app, 'dist/llmtap.js'), ...args], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', K8S_NAMESPACE_NAME: 'llmtap-system' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(injector, 'exit');
    let out = '';
    let err = '';
    injector.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    try {
      const line = await new Promise<{ template: string; port: number; image: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`injector did not start in 20 s: ${err}`)), 20_000);
        injector.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          const found = out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { msg: string; template: string; port: number; image: string })
            .find((l) => l.msg === 'injector listening');
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          }
        });
        void exited.then(() => reject(new Error(`injector exited: ${err}`)));
      });
      expect(line.template).toBe(join(app, 'deploy/components/llmtap-sidecar/sidecar.yaml'));
      expect(line.image).toMatch(/^ghcr\.io\/llmtap\/llmtap:/);
      const health = await call(line.port, ca.caCert, { method: 'GET', path: '/healthz' });
      expect(health.status).toBe(200);
      injector.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (injector.exitCode === null) injector.kill('SIGKILL');
    }
  }, 60_000);
});
