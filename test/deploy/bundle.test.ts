/**
 * The image's bundle (`npm run build` → `scripts/bundle.ts`): production dependencies only, and the
 * features an idle pod never uses stay out of what loads at start (#15: every eager module costs resident
 * memory in every pod).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  bundle,
  devInputs,
  eagerInputs,
  eagerOutputs,
  maxStartFileBytes,
  packageKeyOf,
} from '../../scripts/bundle.ts';

/** Loaded only by the feature that needs it (README, Performance): never part of the start-up graph. */
const lazyOnly = [
  /^node_modules\/ws\//,
  /^node_modules\/(http-proxy|follow-redirects|eventemitter3|requires-port)\//,
  // Parsed once at start from assets/yaml.cjs and let go (src/config/yaml-loader.ts); the injector imports it.
  /^node_modules\/yaml\//,
  /^node_modules\/@aws-sdk\//,
  /^node_modules\/@smithy\//,
  /^node_modules\/@opentelemetry\/sdk-logs\//,
  /^node_modules\/@opentelemetry\/exporter-logs-otlp-proto\//,
  /^node_modules\/@opentelemetry\/exporter-prometheus\//,
  /^src\/injector\//,
  /^src\/feed\/calls-command\.ts$/,
  // Start-up code validates with zod/mini; the classic API (the injector's) and its locales stay out (~10 MB, #15).
  /^node_modules\/zod\/v4\/classic\//,
  /^node_modules\/zod\/.*\.cjs$/,
  /^node_modules\/zod\/v4\/locales\/(?!en\.js$)/,
];

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'llmtap-bundle-'));
let metafile: Metafile;
beforeAll(async () => {
  metafile = await bundle(out);
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Starts the built command with `config`; resolves with its data-plane URL (read from the banner). */
const startBuilt = async (
  config: string,
  env: Record<string, string>,
): Promise<{ dataUrl: string; child: ChildProcess }> => {
  const child = spawn(process.execPath, [join(out, 'llmtap.js'), '--config', config], {
    env: { PATH: process.env.PATH, LLMTAP_UI_LISTEN: 'off', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let banner = '';
  const dataUrl = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
      const found = /data plane\s+(http:\/\/\S+)/.exec(banner);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', () => reject(new Error(`llmtap exited: ${banner}`)));
  });
  return { dataUrl, child };
};

const configFor = (name: string, upstream: string): string => {
  const file = join(out, `${name}.yaml`);
  writeFileSync(
    file,
    `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nroutes:\n  - prefix: /openai\n    provider: openai\n    upstream: ${upstream}\n`,
  );
  return file;
};

describe('scripts/bundle.ts', () => {
  it('finds the package of an input path, scoped and nested', () => {
    expect(packageKeyOf('node_modules/undici/lib/dispatcher/agent.js')).toBe('node_modules/undici');
    expect(packageKeyOf('node_modules/@opentelemetry/core/build/esm/index.js')).toBe(
      'node_modules/@opentelemetry/core',
    );
    expect(packageKeyOf('node_modules/a/node_modules/@s/b/index.js')).toBe(
      'node_modules/a/node_modules/@s/b',
    );
    expect(packageKeyOf('src/cli.ts')).toBeUndefined();
  });

  it('flags an input from a package the lockfile marks dev-only', () => {
    const fake = {
      inputs: {
        'node_modules/vitest/dist/index.js': {},
        'node_modules/undici/index.js': {},
        'src/cli.ts': {},
      },
      outputs: {},
    } as unknown as Metafile;
    expect(devInputs(fake, new Set(['node_modules/vitest']))).toEqual(['node_modules/vitest/dist/index.js']);
  });

  it('bundles the CLI with production dependencies only', () => {
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('src/cli.ts');
    // bundle() throws on a dev-only input; this checks the result is not vacuous.
    expect(inputs.some((i) => i.startsWith('node_modules/undici/'))).toBe(true);
    expect(
      inputs.some((i) => i.startsWith('node_modules/vitest/') || i.startsWith('node_modules/openai/')),
    ).toBe(false);
  });

  it('keeps lazily needed features out of the start-up graph', () => {
    const eager = [...eagerInputs(metafile)];
    expect(eager).toContain('src/cli.ts');
    expect(eager.some((i) => i.startsWith('src/proxy/'))).toBe(true);
    for (const pattern of lazyOnly)
      expect(
        eager.filter((i) => pattern.test(i)),
        String(pattern),
      ).toEqual([]);
    // …while still being in the bundle, behind an import() (the injector at least).
    expect(Object.keys(metafile.inputs).some((i) => i.startsWith('src/injector/'))).toBe(true);
  });

  it('runs both zod flavours from the bundle: English config problems (mini), the injector flags (classic)', () => {
    const config = join(out, 'bad.yaml');
    writeFileSync(config, 'listen: nope\nlimits:\n  maxCopyBytes: -1\n');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(out, 'llmtap.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
    const sidecar = run(['--config', config]);
    expect(sidecar.status).toBe(1);
    expect(sidecar.stderr).toContain('listen: expected host:port');
    expect(sidecar.stderr).toContain('limits.maxCopyBytes: Too small: expected number to be >=0 (got -1)');
    const injector = run(['inject', '--listen', 'nope']);
    expect(injector.stderr).toContain('--listen: expected HOST:PORT');
    expect(injector.status).not.toBe(0);
  });

  it('keeps every file loaded at start under 256 KB (a larger source read leaves glibc keeping up to 2 MB)', () => {
    const sizes = eagerOutputs(metafile).map((path) => ({ path, bytes: metafile.outputs[path]?.bytes ?? 0 }));
    expect(sizes.length).toBeGreaterThan(3);
    expect(sizes.filter((file) => file.bytes > maxStartFileBytes)).toEqual([]);
  });

  it("keeps undici's WebAssembly parsers out of the bundle text, as assets required on first use", async () => {
    const texts = Object.keys(metafile.outputs).map((file) => readFileSync(resolve(root, file), 'utf8'));
    // Every WebAssembly module starts with "\0asm", base64 "AGFzbQ".
    expect(texts.filter((text) => text.includes('AGFzbQ'))).toEqual([]);
    // One call through the built command per parser asset: llhttp with SIMD, without (fallback), milo (opt-in).
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"chatcmpl-1","model":"m","choices":[]}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const config = configFor('forward', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      for (const env of [{}, { UNDICI_NO_WASM_SIMD: '1' }, { UNDICI_USE_MILO: '1' }]) {
        const { dataUrl, child } = await startBuilt(config, { LLMTAP_MODE: 'off', ...env });
        try {
          const answer = await fetch(`${dataUrl}/openai/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"model":"m","messages":[]}',
          });
          expect({ env, status: answer.status, body: await answer.text() }).toEqual({
            env,
            status: 200,
            body: '{"id":"chatcmpl-1","model":"m","choices":[]}',
          });
        } finally {
          child.kill();
        }
      }
    } finally {
      upstream.close();
    }
  });

  it('loads http-proxy on the first WebSocket upgrade: a message makes the round trip through the built command', async () => {
    const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    upstream.on('connection', (socket) =>
      socket.on('message', (data) => socket.send(`echo ${String(data)}`)),
    );
    await once(upstream, 'listening');
    const config = configFor('ws', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    const { dataUrl, child } = await startBuilt(config, { LLMTAP_MODE: 'off' });
    try {
      const client = new WebSocket(`${dataUrl.replace('http:', 'ws:')}/openai/v1/realtime`);
      await once(client, 'open');
      client.send('hello');
      const [reply] = await once(client, 'message');
      expect(String(reply)).toBe('echo hello');
      client.close();
    } finally {
      child.kill();
      upstream.close();
    }
  });

  it('loads no undici beyond the dispatchers llmtap uses (fetch, WebSocket, cache, mocks stay out)', () => {
    const undici = Object.keys(metafile.inputs).filter((i) => i.startsWith('node_modules/undici/'));
    expect(undici.some((i) => i.includes('/lib/dispatcher/agent.js'))).toBe(true);
    const unused = /\/lib\/(?:mock|cache|web\/(?:websocket|eventsource|cache)|web\/fetch\/index\.js)/;
    expect(undici.filter((i) => unused.test(i))).toEqual([]);
  });
});
