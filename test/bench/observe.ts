/**
 * Child process: the CPU cost of *observing* one call, without sockets — the capture tap, the adapter, the
 * span, the metrics and the OTLP export (to a no-op sink in a second process) for the bench's own JSON and
 * SSE answers, driven through the tap exactly as the forwarder drives it. Prints one JSON line
 * `{ "observe": [{ mode, calls, cpuUsPerCall }] }`. The closed-loop cells show what this costs in
 * throughput; this isolates it so an optimisation of the telemetry path can be measured in seconds.
 *   npx node test/bench/observe.ts [calls=20000]   (add --cpu-prof for a profile of just this path)
 * The full `npm run bench` runs it too (argument `{"calls":N}`) and reports the rows with the micro-benchmarks.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { adapterById } from '../../providers/index.ts';
import { createCaptureTapFactory } from '../../src/capture/capture-tap.ts';
import { limitsSchema, type RouteConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import type { CallContext } from '../../src/proxy/tap.ts';
import { createTelemetry } from '../../src/telemetry/index.ts';
import { answerFor, CHAT_PATH, type Mode, requestBody } from './payloads.ts';

const parseCalls = (arg: string | undefined): number => {
  if (arg === undefined) return 20_000;
  const n = arg.startsWith('{') ? (JSON.parse(arg) as { calls?: number }).calls : Number(arg);
  if (n === undefined || !Number.isInteger(n) || n < 100)
    throw new Error(`observe.ts: bad call count ${arg}`);
  return n;
};
const calls = parseCalls(process.argv[2]);

const sinkScript = `
import { startOtlpSink } from ${JSON.stringify(new URL('./otlp-sink.ts', import.meta.url).href)};
const sink = await startOtlpSink();
process.send({ port: sink.port });
process.on('disconnect', () => process.exit(0));
`;
const sink = fork('--input-type=module', [], {
  execArgv: ['--input-type=module', '-e', sinkScript],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const [{ port }] = (await once(sink, 'message')) as [{ port: number }];

const logger = createLogger('warn');
const telemetry = await createTelemetry({
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    OTEL_SERVICE_NAME: 'bench',
    LLMTAP_PODINFO_DIR: fileURLToPath(new URL('./', import.meta.url)),
  },
  logger,
  version: '0.0.0-bench',
});
const limits = limitsSchema.parse({});
const factory = createCaptureTapFactory({
  adapterFor: (route) => adapterById(route.provider),
  observer: telemetry,
  limits,
  parseOptions: { captureContent: false, maxCapturedChars: limits.maxCapturedChars },
  onError: (stage, error) => telemetry.recordError(stage, error),
});

const route: RouteConfig = { prefix: '/openai', provider: 'openai', upstream: 'http://127.0.0.1:1/v1' };
const upstreamUrl = new URL(`http://127.0.0.1:1${CHAT_PATH}`);
const requestHeaders = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};

const runCall = async (mode: Mode): Promise<void> => {
  const answer = answerFor(mode);
  const start = performance.timeOrigin + performance.now();
  const context: CallContext = {
    route,
    target: { method: 'POST', path: CHAT_PATH, query: new URLSearchParams() },
    upstreamUrl,
    requestHeaders,
    start,
  };
  const tap = factory.open(context);
  if (tap === undefined) throw new Error('no tap opened: the bench route is not an LLM call');
  tap.requestBody(requestBody(mode));
  tap.requestEnd();
  tap.upstreamRequestSent(start + 0.1);
  tap.responseHead(200, { 'content-type': answer.contentType }, start + 1);
  tap.clientFirstByte(start + 1.05);
  tap.responseBody(answer.body, start + 1.2);
  const fields = tap.end({ at: start + 2, complete: true, copyTruncated: false });
  if (fields instanceof Promise) await fields;
};

const measure = async (mode: Mode, n: number): Promise<number> => {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await runCall(mode);
    // Let the export timers and sockets run as they would between requests.
    if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
};

const rows: { mode: Mode; calls: number; cpuUsPerCall: number }[] = [];
for (const mode of ['json', 'sse'] as const) {
  await measure(mode, Math.min(2000, calls)); // warm-up
  rows.push({ mode, calls, cpuUsPerCall: Math.round((await measure(mode, calls)) * 10) / 10 });
}
await telemetry.shutdown();
sink.disconnect();
process.stdout.write(`${JSON.stringify({ observe: rows })}\n`);
