/**
 * SIGTERM through the real CLI with a collector that never answers: the telemetry flush is bounded by its 5 s
 * deadline (plus the CLI's 2 s exit backstop), so this waits ~8 s by nature and is in the slow tier.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collect, open, routeYaml, streamingUpstream } from './cli-streams.ts';
import { type CliRun, launchCli } from './helpers.ts';

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

describe('SIGTERM with a collector that never answers', () => {
  it('the telemetry flush is bounded: exit 0 within a few seconds, and the calls were served normally', async () => {
    const { createServer } = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const blackhole = createServer((socket) => {
      held.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
    });
    blackhole.listen(0, '127.0.0.1');
    await new Promise((resolve) => blackhole.once('listening', resolve));
    const port = (blackhole.address() as import('node:net').AddressInfo).port;
    cleanups.push(() => {
      for (const socket of held) socket.destroy();
      blackhole.close();
    });
    const upstream = await streamingUpstream(3, 10);
    cleanups.push(() => upstream.close());
    const run = track(
      await launchCli(routeYaml(upstream.url), {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_METRIC_EXPORT_INTERVAL: '200',
      }),
    );
    for (let i = 0; i < 5; i += 1) {
      const res = await open(`${run.dataUrl}/up/v1/chat/completions`);
      expect((await collect(res)).clean).toBe(true);
    }
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    // Drain (nothing in flight) + the flush deadline (5 s) + the CLI's 2 s exit backstop for sockets still
    // open to the dead collector, with slack for a loaded machine.
    expect(Date.now() - signalledAt).toBeLessThan(12_000);
  });
});
