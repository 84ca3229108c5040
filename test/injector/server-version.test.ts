/**
 * `--sidecar-mode=auto`: the API server's /version decides native (≥ 1.29) or classic, and an unreadable
 * version means classic (a native sidecar on an older cluster hangs the pod in Init). The API server is a
 * loopback HTTPS stand-in with a throwaway CA.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/injector/mutate.ts';
import {
  detectSidecarMode,
  inClusterApiUrl,
  modeForVersion,
  parseServerVersion,
} from '../../src/injector/server-version.ts';
import { loadTemplate, templateRelativePath } from '../../src/injector/template.ts';
import { repoRoot } from '../deploy/kubectl.ts';
import { deploymentPod } from './fixtures.ts';
import { makeTestCa, type TestCa } from './tls.ts';

describe('the version rule', () => {
  it.each([
    [{ major: '1', minor: '28', gitVersion: 'v1.28.15' }, 'classic'],
    [{ major: '1', minor: '29', gitVersion: 'v1.29.0' }, 'native'],
    [{ major: '1', minor: '29+', gitVersion: 'v1.29.3-eks-adc7111' }, 'native'],
    [{ major: '1', minor: '27+', gitVersion: 'v1.27.16-gke.1' }, 'classic'],
    [{ major: '1', minor: '33' }, 'native'],
    [{ major: '2', minor: '0' }, 'native'],
  ])('%j → %s', (body, mode) => {
    const choice = modeForVersion(parseServerVersion(body));
    expect(choice.mode).toBe(mode);
    expect(choice.detected).toBe(true);
    expect(choice.reason).toMatch(/^auto: API server v/);
  });

  it.each([[{}], [{ major: 'one', minor: '29' }], ['1.29'], [null]])(
    'an unusable answer %j → classic',
    (body) => {
      const choice = modeForVersion(parseServerVersion(body), 'unexpected /version answer');
      expect(choice).toMatchObject({ mode: 'classic', detected: false });
      expect(choice.reason).toContain('unknown (unexpected /version answer)');
    },
  );

  it('finds the API server from the kubernetes Service env, IPv6 included', () => {
    expect(inClusterApiUrl({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })).toBe(
      'https://10.96.0.1:443',
    );
    expect(inClusterApiUrl({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' })).toBe(
      'https://[fd00::1]:6443',
    );
    expect(inClusterApiUrl({})).toBeUndefined();
  });
});

describe('asking a (stand-in) API server', () => {
  let ca: TestCa;
  let caFile: string;
  let server: Server;
  let url: string;
  let answer: { status: number; body: string } | 'hang' = { status: 200, body: '{}' };
  beforeAll(async () => {
    ca = makeTestCa();
    const pair = ca.issue('apiserver');
    caFile = join(ca.dir, 'ca.crt');
    writeFileSync(join(ca.dir, 'wrong-ca.crt'), pair.cert);
    server = createServer(
      { cert: pair.cert, key: (await import('node:fs')).readFileSync(pair.keyFile) },
      (req, res) => {
        if (answer === 'hang') return;
        expect(req.url).toBe('/version');
        // Anonymous, as the injector mounts no token.
        expect(req.headers.authorization).toBeUndefined();
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const ask = (over: { caFile?: string; timeoutMs?: number } = {}) =>
    detectSidecarMode({ apiUrl: url, caFile: over.caFile ?? caFile, timeoutMs: over.timeoutMs ?? 3000 });

  it('1.28 → classic, 1.30 → native, with the version in the reason', async () => {
    answer = { status: 200, body: JSON.stringify({ major: '1', minor: '28', gitVersion: 'v1.28.9' }) };
    expect(await ask()).toEqual({
      mode: 'classic',
      reason: 'auto: API server v1.28.9 < 1.29 (no native sidecars)',
      detected: true,
    });
    answer = { status: 200, body: JSON.stringify({ major: '1', minor: '30', gitVersion: 'v1.30.2' }) };
    expect(await ask()).toEqual({
      mode: 'native',
      reason: 'auto: API server v1.30.2 >= 1.29',
      detected: true,
    });
  });

  it('401 (anonymous access off), garbage, a CA that does not match, no answer, not in a cluster → classic', async () => {
    answer = { status: 401, body: '{"kind":"Status"}' };
    expect(await ask()).toMatchObject({
      mode: 'classic',
      detected: false,
      reason: expect.stringContaining('HTTP 401'),
    });
    answer = { status: 200, body: '<html>' };
    expect(await ask()).toMatchObject({ mode: 'classic', reason: expect.stringContaining('not JSON') });
    answer = { status: 200, body: JSON.stringify({ major: '1', minor: '30' }) };
    expect(await ask({ caFile: join(ca.dir, 'wrong-ca.crt') })).toMatchObject({
      mode: 'classic',
      detected: false,
    });
    expect(await ask({ caFile: join(ca.dir, 'missing.crt') })).toMatchObject({
      mode: 'classic',
      reason: expect.stringContaining('no cluster CA'),
    });
    answer = 'hang';
    expect(await ask({ timeoutMs: 200 })).toMatchObject({
      mode: 'classic',
      reason: expect.stringContaining('timeout'),
    });
    expect(await detectSidecarMode({ apiUrl: undefined, caFile, timeoutMs: 100 })).toMatchObject({
      mode: 'classic',
      reason: expect.stringContaining('not in a cluster'),
    });
  });

  it('the choice and its reason land in the pod status annotation', () => {
    const template = loadTemplate(join(repoRoot, templateRelativePath));
    const decision = decide(deploymentPod(), 'shop', {
      template,
      mode: 'classic',
      modeReason: 'auto: API server v1.28.9 < 1.29 (no native sidecars)',
      proxyUrl: 'http://127.0.0.1:4545',
      excludedNamespaces: new Set(),
      version: '0.0.0-test',
    });
    if (!decision.inject) throw new Error(`not injected: ${decision.reason}`);
    expect(decision.status).toMatchObject({
      mode: 'classic',
      modeReason: 'auto: API server v1.28.9 < 1.29 (no native sidecars)',
    });
    // Classic: llmtap is an ordinary container, never an init container that would hold the pod in Init.
    const added = decision.patch.find((op) => op.path === '/spec/containers/0');
    const container = added?.value as { name: string; restartPolicy?: string } | undefined;
    expect(container?.name).toBe('llmtap');
    expect(container?.restartPolicy).toBeUndefined();
    expect(decision.patch.some((op) => op.path.startsWith('/spec/initContainers'))).toBe(false);
  });
});
