/**
 * Exporter outage: the collector is down (connection refused), slow (holds every export for 10 s) or answers
 * 500. The same bounded mix of calls is made before and during each outage and compared by counts of success and
 * byte equality (not by timing); telemetry that could not be delivered is counted as dropped, the span queue stays
 * bounded, and export resumes when the collector comes back.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/client.ts';
import { startFullLlmtap, type TestLlmtap } from '../helpers/llmtap.ts';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { loadRecordedFixtures, type RecordedFixture, replayHeaders, wireBody } from '../helpers/recorded.ts';
import { type CountingUpstream, startCountingUpstream, waitUntil } from './helpers.ts';

type Mode = 'up' | 'down' | 'slow';

/**
 * A TCP switch on a fixed port in front of the OTLP receiver: `up` pipes to it, `slow` accepts and holds every
 * connection for 10 s without answering, `down` closes the listener (connection refused) and reopens it later on
 * the same port.
 */
interface CollectorSwitch {
  readonly url: string;
  set(mode: Mode): Promise<void>;
  close(): Promise<void>;
}

const startSwitch = async (target: OtlpReceiver): Promise<CollectorSwitch> => {
  const targetPort = Number(new URL(target.url).port);
  let mode: Mode = 'up';
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'slow') {
      const timer = setTimeout(() => socket.destroy(), 10_000);
      timers.add(timer);
      socket.resume();
      return;
    }
    const out = connect(targetPort, '127.0.0.1');
    sockets.add(out);
    out.on('close', () => sockets.delete(out));
    out.on('error', () => socket.destroy());
    socket.pipe(out).pipe(socket);
  };
  let server: Server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
    for (const timer of timers) clearTimeout(timer);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    async set(next) {
      if (next === mode) return;
      dropConnections();
      if (next === 'down') {
        server.close();
        await once(server, 'close');
      } else if (mode === 'down') {
        server = createServer(onConnection);
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      }
      mode = next;
    },
    async close() {
      dropConnections();
      if (mode !== 'down') {
        server.close();
        await once(server, 'close');
      }
    },
  };
};

const fixtures = loadRecordedFixtures();
const pick = (file: string): RecordedFixture => {
  const found = fixtures.find((f) => f.file === file);
  if (found === undefined) throw new Error(`fixture ${file} missing`);
  return found;
};
const mix = [pick('openai/chat_stream_include_usage.json'), pick('openai/chat_nonstream_basic.json')];

interface Rig {
  readonly receiver: OtlpReceiver;
  readonly collector: CollectorSwitch;
  readonly upstream: CountingUpstream;
  readonly app: TestLlmtap;
}

const rigs: Rig[] = [];

/** A fresh llmtap per scenario, so rate-limited log lines and drop counters belong to that scenario alone. */
const startRig = async (): Promise<Rig> => {
  const receiver = await startOtlpReceiver();
  const collector = await startSwitch(receiver);
  const upstream = await startCountingUpstream((req, res) => {
    const f = mix[Number(req.headers['x-fixture'])] as RecordedFixture;
    res.writeHead(f.response.status, replayHeaders(f));
    res.end(wireBody(f));
  });
  const app = await startFullLlmtap(
    {
      routes: [{ prefix: '/openai', provider: 'openai', upstream: upstream.url, streamUsage: 'passthrough' }],
    },
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_METRIC_EXPORT_TIMEOUT: '1000',
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_BSP_EXPORT_TIMEOUT: '1000',
      OTEL_BSP_MAX_QUEUE_SIZE: '16',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8',
    },
  );
  const rig = { receiver, collector, upstream, app };
  rigs.push(rig);
  return rig;
};

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.collector.set('up');
    await rig.app.shutdown();
    await rig.collector.close();
    await rig.upstream.close();
    await rig.receiver.close();
  }
});

const rounds = 40;

/** Makes `rounds` calls alternating a stream and a JSON answer; counts successes and byte-exact bodies. */
const runMix = async (rig: Rig): Promise<{ ok: number; exact: number }> => {
  let ok = 0;
  let exact = 0;
  for (let i = 0; i < rounds; i += 1) {
    const index = i % mix.length;
    const f = mix[index] as RecordedFixture;
    const response = await rawRequest(`${rig.app.server.dataUrl}/openai${f.request.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-fixture': String(index) },
      body: f.request.body ?? '{}',
    });
    if (response.status === f.response.status) ok += 1;
    if (response.body.equals(wireBody(f))) exact += 1;
  }
  return { ok, exact };
};

/** Sum of `llmtap.telemetry.dropped` the collector received, per signal:reason. */
const dropped = (rig: Rig): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const metric of rig.receiver.metrics.filter((m) => m.name === 'llmtap.telemetry.dropped')) {
    for (const point of metric.points) {
      const key = `${point.attributes['llmtap.telemetry.signal']}:${point.attributes['llmtap.telemetry.drop_reason']}`;
      out[key] = (out[key] ?? 0) + (point.value ?? 0);
    }
  }
  return out;
};

/** The `telemetry dropped` warnings llmtap logged (rate-limited per signal and reason). */
const dropLogs = (rig: Rig): { signal: string; reason: string }[] =>
  rig.app.logs
    .filter((line) => line.includes('"msg":"telemetry dropped"'))
    .map((line) => JSON.parse(line) as { signal: string; reason: string });

/** The collector is back: spans of new calls arrive again. */
const expectRecovery = async (rig: Rig): Promise<void> => {
  const before = rig.receiver.spans.length;
  // In-flight exports to the broken collector may hold the (bounded) queue for up to the export timeout.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
  await rig.receiver.waitFor(
    () => rig.receiver.spans.length >= before + rounds,
    5000,
    'spans after recovery',
  );
};

describe('exporter outage never touches the proxied calls', () => {
  it('baseline with a healthy collector: every call succeeds byte for byte and is exported', async () => {
    const rig = await startRig();
    expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
    await rig.receiver.waitFor(() => rig.receiver.spans.length >= rounds, 5000, 'baseline spans');
    expect(dropLogs(rig)).toEqual([]);
  });

  it('collector down (connection refused): every call succeeds byte for byte, drops logged, export resumes', async () => {
    const rig = await startRig();
    await rig.collector.set('down');
    expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
    expect(await waitUntil(() => dropLogs(rig).some((d) => d.signal === 'traces'), 3000)).toBe(true);
    await rig.collector.set('up');
    await expectRecovery(rig);
  });

  it('collector slow (holds every export 10 s): every call succeeds; the span queue stays bounded (overflow turned away and counted)', async () => {
    const rig = await startRig();
    await rig.collector.set('slow');
    expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
    expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
    // 80 spans against a 16-span queue whose exports hang: spans were refused at the queue, not buffered.
    expect(dropLogs(rig).some((d) => d.signal === 'traces' && d.reason === 'queue_full')).toBe(true);
    await rig.collector.set('up');
    await expectRecovery(rig);
    await rig.receiver.waitFor(() => (dropped(rig)['traces:queue_full'] ?? 0) > 0, 5000, 'queue_full drops');
  });

  it('collector answers 500: every call succeeds byte for byte, failed exports logged, export resumes', async () => {
    const rig = await startRig();
    rig.receiver.respondWith(500);
    const attempts = rig.receiver.raw.length;
    expect(await runMix(rig)).toEqual({ ok: rounds, exact: rounds });
    // The collector was asked and said 500: these are real failed exports, not skipped ones.
    await rig.receiver.waitFor(
      () => rig.receiver.raw.length > attempts,
      5000,
      'export attempts during the 500s',
    );
    expect(await waitUntil(() => dropLogs(rig).some((d) => d.reason === 'export_failed'), 3000)).toBe(true);
    rig.receiver.respondWith(200);
    await expectRecovery(rig);
  });
});
