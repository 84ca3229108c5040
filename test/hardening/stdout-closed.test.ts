/**
 * A log sink that breaks never takes the proxy down (issue #16): with the reader of llmtap's stdout gone (EPIPE on
 * every write), the real CLI still answers every call, is idle when idle (no write loop), reports the broken sink
 * once on stderr, and on SIGTERM still drains its in-flight stream and exits 0. The OTLP exporters fail too here
 * (a collector that rejects every export), so their error path also logs into the broken sink.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { type CliRun, launchCli, startCountingUpstream, waitUntil } from './helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** CPU time (user + system) the process has used so far, in ms, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

/** A collector that rejects every export with 400 (not retried), counting the attempts. */
const startRejectingCollector = async () => {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports += 1;
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('rejected');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
};

const event = (i: number): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`;

const openStream = (url: string): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(
      JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    );
  });

describe.runIf(process.platform === 'linux')('stdout reader gone (EPIPE) through the real CLI', () => {
  it('every call is answered, the idle process uses no CPU, the error is reported once, SIGTERM drains and exits 0', async () => {
    // Streams of 6 events; the one in flight at SIGTERM waits for `release` before its last events.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let streamsStarted = 0;
    const upstream = await startCountingUpstream(async (req, res) => {
      if (!req.url?.includes('chat/completions')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"object":"list","data":[]}');
        return;
      }
      streamsStarted += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 3; i += 1) res.write(event(i));
      await released;
      for (let i = 3; i < 6; i += 1) res.write(event(i));
      res.end('data: [DONE]\n\n');
    });
    const collector = await startRejectingCollector();
    cleanups.push(
      () => upstream.close(),
      () => collector.close(),
    );
    const drainTimeoutMs = 10_000;
    const run: CliRun = await launchCli(
      `routes:\n  - {prefix: /up, provider: openai, upstream: "${upstream.url}", streamUsage: passthrough}\n`,
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_METRIC_EXPORT_INTERVAL: '600000',
        LLMTAP_DRAIN_TIMEOUT: `${drainTimeoutMs}ms`,
      },
    );
    cleanups.push(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    });
    const pid = run.child.pid as number;

    // The reader goes away: every later write to llmtap's stdout fails with EPIPE.
    run.child.stdout?.destroy();

    // 20 calls (each logs a request line into the broken pipe), all answered.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      statuses.push((await rawRequest(`${run.dataUrl}/up/v1/models`)).status);
    }
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
    expect(await waitUntil(() => run.stderr().includes('log output failed'), 5000)).toBe(true);

    // The exporter's failure path logs too (a rejected span export): wait until the collector saw an export.
    const first = await openStream(`${run.dataUrl}/up/v1/chat/completions`);
    first.resume();
    const firstDone = once(first, 'end');
    release();
    await firstDone;
    expect(await waitUntil(() => collector.exports() >= 1, 10_000), 'a span export attempt').toBe(true);
    // Still answering after the export failure was handled.
    expect((await rawRequest(`${run.dataUrl}/up/v1/models`)).status).toBe(200);

    // Idle: CPU time used over a window of at least one second of wall time. A write loop burns a core (or its
    // share of a busy machine, still well above 10%); an idle llmtap uses next to nothing.
    const cpuBefore = cpuMs(pid);
    const wallBefore = performance.now();
    await waitUntil(() => performance.now() - wallBefore >= 1000, 5000);
    const cpuUsed = cpuMs(pid) - cpuBefore;
    const wall = performance.now() - wallBefore;
    expect(cpuUsed, `CPU ms used over ${Math.round(wall)} ms idle`).toBeLessThan(wall * 0.1);

    // SIGTERM with a stream in flight: it finishes whole, then the process exits 0 well within the drain timeout.
    const streamsBefore = streamsStarted;
    let releaseSecond: () => void = () => undefined;
    const secondReleased = new Promise<void>((resolve) => {
      releaseSecond = resolve;
    });
    upstream.setHandler(async (_req, res) => {
      streamsStarted += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 3; i += 1) res.write(event(i));
      await secondReleased;
      for (let i = 3; i < 6; i += 1) res.write(event(i));
      res.end('data: [DONE]\n\n');
    });
    const inFlight = await openStream(`${run.dataUrl}/up/v1/chat/completions`);
    let text = '';
    inFlight.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const finished = once(inFlight, 'end');
    expect(await waitUntil(() => text.includes('t2'), 5000)).toBe(true);
    expect(streamsStarted).toBe(streamsBefore + 1);
    run.child.kill('SIGTERM');
    // Draining: the listener stops taking connections (a positive signal that SIGTERM was handled).
    let readiness: number | undefined = 200;
    for (let i = 0; i < 100 && readiness === 200; i += 1) {
      readiness = (await rawRequest(`${run.adminUrl}/readyz`).catch(() => undefined))?.status;
    }
    expect(readiness).toBe(503);
    releaseSecond();
    await finished;
    expect(text).toBe(`${Array.from({ length: 6 }, (_, i) => event(i)).join('')}data: [DONE]\n\n`);
    const deadline = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still running'), drainTimeoutMs).unref(),
    );
    expect(await Promise.race([run.exited, deadline])).toBe(0);
    // Reported once, and the count of lost lines on the way out.
    expect(run.stderr().match(/log output failed/g)).toHaveLength(1);
    expect(run.stderr()).toMatch(/stopped; \d+ log lines were dropped/);
  });
});
