/**
 * The process as Kubernetes runs it (the real CLI in a child process): SIGTERM drains in-flight streams, flips
 * readiness at once, flushes telemetry and exits 0; a stream longer than the drain timeout is cut and the exit
 * is still 0 (a collector that never answers: lifecycle-flush.slow.test.ts); an uncaught exception in a callback does not take down in-flight calls; credentials in egress
 * proxy URLs and the OTLP token never reach stdout/stderr.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import {
  chatBody,
  collect,
  event,
  firstData,
  gatedUpstream,
  open,
  routeYaml,
  streamingUpstream,
} from './cli-streams.ts';
import { type CliRun, launchCli, startCountingUpstream, waitUntil } from './helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const track = (run: CliRun): CliRun => {
  cleanups.push(() => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  });
  return run;
};

const otlpEnv = (receiver: OtlpReceiver): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  // Nothing is exported on a schedule during the test: what arrives was flushed by the shutdown.
  OTEL_BSP_SCHEDULE_DELAY: '600000',
  OTEL_METRIC_EXPORT_INTERVAL: '600000',
});

describe('SIGTERM through the real CLI', () => {
  it('readiness turns 503 at once, the in-flight stream finishes whole, telemetry is flushed, exit 0', async () => {
    // The stream's last 7 events wait for release(): it is in flight until the test says otherwise.
    const { upstream, release } = await gatedUpstream(10, 3);
    const receiver = await startOtlpReceiver();
    cleanups.push(
      () => upstream.close(),
      () => receiver.close(),
    );
    const run = track(
      await launchCli(routeYaml(upstream.url), { ...otlpEnv(receiver), LLMTAP_DRAIN_TIMEOUT: '30s' }),
    );
    expect((await rawRequest(`${run.adminUrl}/readyz`)).status).toBe(200);
    const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
    const body = collect(res);
    await firstData(res);
    // The call is not over, so no span exists yet: whatever arrives below was flushed by the shutdown.
    expect(receiver.spans).toHaveLength(0);
    run.child.kill('SIGTERM');
    // "At once": the first probe after the signal is delivered already says draining.
    expect(
      await waitUntil(() => run.stdout().includes('"msg":"draining"'), 2000),
      'the draining log line',
    ).toBe(true);
    const readiness = await rawRequest(`${run.adminUrl}/readyz`).catch(() => undefined);
    expect(readiness?.status).toBe(503);
    release();
    const { text, clean } = await body;
    expect(clean).toBe(true);
    expect(text).toBe(`${Array.from({ length: 10 }, (_, i) => event(i)).join('')}data: [DONE]\n\n`);
    expect(await run.exited).toBe(0);
    // The span of the call that finished during the drain, and the metrics, left before the exit.
    expect(receiver.spans).toHaveLength(1);
    expect(receiver.spans[0]?.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(receiver.metrics.some((m) => m.name === 'gen_ai.client.operation.duration')).toBe(true);
    expect(run.stdout()).toContain('"cutStreams":0');
  });

  it('a second SIGTERM during the drain does not cut the stream: it still finishes whole, exit 0', async () => {
    const { upstream, release } = await gatedUpstream(8, 2);
    cleanups.push(() => upstream.close());
    const run = track(await launchCli(routeYaml(upstream.url), { LLMTAP_DRAIN_TIMEOUT: '30s' }));
    const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
    const body = collect(res);
    await firstData(res);
    run.child.kill('SIGTERM');
    expect(await waitUntil(() => run.stdout().includes('"msg":"draining"'))).toBe(true);
    run.child.kill('SIGTERM');
    expect(await waitUntil(() => run.stdout().includes('"msg":"already draining"'))).toBe(true);
    release();
    const { text, clean } = await body;
    expect(clean).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"msg":"already draining"');
  });

  it('a stream longer than the drain timeout is cut (the client sees a failure) and the exit is still 0', async () => {
    const upstream = await streamingUpstream(Number.POSITIVE_INFINITY, 50);
    const receiver = await startOtlpReceiver();
    cleanups.push(
      () => upstream.close(),
      () => receiver.close(),
    );
    const run = track(
      await launchCli(routeYaml(upstream.url), { ...otlpEnv(receiver), LLMTAP_DRAIN_TIMEOUT: '500ms' }),
    );
    const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
    const body = collect(res);
    await firstData(res);
    run.child.kill('SIGTERM');
    const { text, clean } = await body;
    expect(clean).toBe(false);
    expect(text.startsWith(event(0))).toBe(true);
    expect(text).not.toContain('[DONE]');
    // The upstream never ends the stream: exiting at all is the drain timeout at work.
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"cutStreams":1');
    // The cut call is still recorded, as an error.
    expect(receiver.spans).toHaveLength(1);
    expect(receiver.spans[0]?.status.code).toBe('STATUS_CODE_ERROR');
  });

  it('idle keep-alive connections do not hold the process: exit 0 promptly with no stream in flight', async () => {
    const upstream = await streamingUpstream(1, 1);
    cleanups.push(() => upstream.close());
    // A drain timeout far beyond the test's: if the idle connection held the drain, the process would not exit.
    const run = track(await launchCli(routeYaml(upstream.url), { LLMTAP_DRAIN_TIMEOUT: '10m' }));
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      const req = request(`${run.dataUrl}/up/v1/chat/completions`, { method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end(chatBody);
    });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"cutStreams":0');
  });
});

describe('process-level fault policy', () => {
  it('an uncaught exception and an unhandled rejection in callbacks leave in-flight streams whole and the process serving', async () => {
    const { upstream, release } = await gatedUpstream(10, 3);
    const receiver = await startOtlpReceiver();
    cleanups.push(
      () => upstream.close(),
      () => receiver.close(),
    );
    const preload = new URL('./fixtures/fault-on-signal.ts', import.meta.url).pathname;
    const run = track(await launchCli(routeYaml(upstream.url), otlpEnv(receiver), ['--import', preload]));
    const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
    const body = collect(res);
    await firstData(res);
    run.child.kill('SIGUSR2');
    expect(await waitUntil(() => (run.stdout().match(/uncaught exception/g)?.length ?? 0) >= 2)).toBe(true);
    // The faults happened while the stream was in flight; now let it finish.
    release();
    const { text, clean } = await body;
    expect(clean).toBe(true);
    expect(text).toBe(`${Array.from({ length: 10 }, (_, i) => event(i)).join('')}data: [DONE]\n\n`);
    // Still serving, still ready.
    expect((await rawRequest(`${run.adminUrl}/readyz`)).status).toBe(200);
    const again = await open(`${run.dataUrl}/up/v1/chat/completions`);
    expect((await collect(again)).clean).toBe(true);
    const lines = run
      .stdout()
      .split('\n')
      .filter((line) => line.includes('uncaught exception'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.origin).sort()).toEqual(['uncaughtException', 'unhandledRejection']);
    expect(lines.every((l) => typeof l.frames === 'string')).toBe(true);
    const output = run.stdout() + run.stderr();
    expect(output).not.toContain('CANARYuncaught');
    expect(output).not.toContain('CANARYrejected');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    // Counted where operators look: llmtap.telemetry.errors{stage="observer"}, flushed at shutdown.
    const counted = receiver.metrics
      .filter((m) => m.name === 'llmtap.telemetry.errors')
      .flatMap((m) => m.points)
      .filter((p) => p.attributes['llmtap.telemetry.stage'] === 'observer')
      .reduce((sum, p) => sum + (p.value ?? 0), 0);
    expect(counted).toBe(2);
    expect(receiver.allBytes().includes('CANARY')).toBe(false);
  });

  it('a storm of faults drains gracefully (the in-flight stream still finishes) and exits 1 for a restart', async () => {
    const upstream = await streamingUpstream(8, 100);
    cleanups.push(() => upstream.close());
    const preload = new URL('./fixtures/fault-on-signal.ts', import.meta.url).pathname;
    const run = track(
      await launchCli(routeYaml(upstream.url), { LLMTAP_DRAIN_TIMEOUT: '10s' }, ['--import', preload]),
    );
    const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
    const body = collect(res);
    // Each signal is two faults; 11 signals pass the threshold of 20 per minute. Each is sent once the previous
    // one's faults were logged: signals sent back to back coalesce into one when the process is slow to run.
    const faults = (): number => run.stdout().match(/uncaught exception/g)?.length ?? 0;
    for (let i = 0; i < 11; i += 1) {
      run.child.kill('SIGUSR2');
      expect(await waitUntil(() => faults() >= 2 * (i + 1)), `faults after signal ${i + 1}`).toBe(true);
    }
    expect(await waitUntil(() => run.stdout().includes('"signal":"fault storm"'))).toBe(true);
    const { clean } = await body;
    expect(clean).toBe(true);
    expect(await run.exited).toBe(1);
  });
});

describe('secrets in the process environment', () => {
  it('egress-proxy credentials and the OTLP token never appear on stdout or stderr, even when the proxy is down', async () => {
    const receiver = await startOtlpReceiver();
    const closed = await startCountingUpstream();
    const closedPort = closed.port;
    await closed.close();
    cleanups.push(() => receiver.close());
    const run = track(
      await launchCli(
        'routes:\n  - {prefix: /ext, provider: openai, upstream: "http://llm.example.internal:8080"}\n',
        {
          HTTP_PROXY: `http://proxyuser:CANARYproxypass4r5t@127.0.0.1:${closedPort}`,
          HTTPS_PROXY: `http://proxyuser:CANARYproxypass4r5t@127.0.0.1:${closedPort}`,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer CANARYotlptoken2w3e',
          LLMTAP_LOG_LEVEL: 'debug',
        },
      ),
    );
    const answer = await rawRequest(`${run.dataUrl}/ext/v1/chat/completions?key=CANARYquery6y7u`, {
      method: 'POST',
      headers: { authorization: 'Bearer CANARYbearer8i9o' },
      body: chatBody,
    });
    expect(answer.status).toBe(502);
    expect(answer.body.toString()).not.toContain('CANARY');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(receiver.spans).toHaveLength(1);
    const output = run.stdout() + run.stderr();
    expect(output).toContain('"msg":"request"');
    expect(output).not.toContain('CANARY');
    expect(receiver.allBytes().includes('CANARY')).toBe(false);
  });
});
