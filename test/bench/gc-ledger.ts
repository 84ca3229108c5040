/**
 * What the garbage collector costs per call, telemetry on against off against the bare anchor (#15):
 *   npx node test/bench/gc-ledger.ts [--built] [--mode=json|sse] [--rounds=3] [--seconds=5] [--warmup=6]
 *                                    [--targets=bare,llmtap,llmtap-notel]
 * Each round starts every target fresh with the sidecar manifest's NODE_OPTIONS plus `--trace-gc-nvp`, warms
 * it, then drives 64 concurrent calls (wrk, else the Node client) for `--seconds` and reads V8's own record of
 * every collection in that window (gc-trace.ts). Bytes allocated per call repeat within ~1% from run to run on
 * a shared box, where CPU time does not: it is the figure to judge an allocation change by. Prints a markdown
 * table (median of rounds) and one JSON line with every round.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildForBench } from './build.ts';
import { type GcEvent, type GcLedger, gcLedger, parseNvpLine } from './gc-trace.ts';
import { startLlmtap } from './llmtap.ts';
import { deployedRuntime, value as flagValue } from './options.ts';
import { startOtlpSink } from './otlp-sink.ts';
import type { Mode } from './payloads.ts';
import { firstJsonLine, runNodeJson, type Started, start, stop, stopAll } from './procs.ts';
import { median } from './stats.ts';
import { findWrk, runWrk } from './wrk.ts';

type Target = 'bare' | 'llmtap' | 'llmtap-notel';

const args = process.argv.slice(2);
const value = (name: string): string | undefined => flagValue(args, name);
const count = (name: string, fallback: number): number => {
  const raw = value(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`gc-ledger: bad --${name}=${raw}`);
  return n;
};
const mode = (value('mode') ?? 'json') as Mode;
if (mode !== 'json' && mode !== 'sse') throw new Error(`gc-ledger: --mode is json or sse, not ${mode}`);
const rounds = count('rounds', 3);
const seconds = count('seconds', 5);
const warmupSeconds = count('warmup', 6);
const targets = (value('targets') ?? 'bare,llmtap,llmtap-notel').split(',') as Target[];
for (const target of targets) {
  if (!['bare', 'llmtap', 'llmtap-notel'].includes(target))
    throw new Error(`gc-ledger: unknown target ${target}`);
}

const deployed = deployedRuntime();
const nodeFlags = [...(deployed.nodeOptions ?? '').split(/\s+/).filter((f) => f !== ''), '--trace-gc-nvp'];
const tmp = mkdtempSync(join(tmpdir(), 'llmtap-gc-ledger-'));
const wrk = findWrk();
// The bundle's bare anchor resolves undici from the repo's node_modules: build under test/bench/results.
const RESULTS = fileURLToPath(new URL('./results/gc-ledger/', import.meta.url));
const built = args.includes('--built') ? await buildForBench(RESULTS) : undefined;
const BARE = fileURLToPath(new URL('./bare-proxy.ts', import.meta.url));

const load = async (url: string, ms: number): Promise<number> => {
  if (wrk !== undefined) return (await runWrk(wrk, tmp, url, mode, 64, ms)).requests;
  const script = fileURLToPath(new URL('./client-closed.ts', import.meta.url));
  const out = await runNodeJson<{ requests: number }>(
    'client-closed',
    script,
    { url, mode, connections: 64, durationMs: ms },
    ms + 30_000,
  );
  return out.requests;
};

interface Running {
  readonly process: Started;
  readonly url: string;
  /** The trace so far (read after the process stopped: V8 buffers its stdout). */
  trace(): string;
}

const launch = async (target: Target, upstreamPort: number, sinkPort: number): Promise<Running> => {
  if (target === 'bare') {
    const config = { upstream: `http://127.0.0.1:${upstreamPort}`, prefix: '/openai' };
    const started = start(
      'bare',
      process.execPath,
      [...nodeFlags, built?.bare ?? BARE, JSON.stringify(config)],
      {
        env: { ...process.env, ...deployed.env },
      },
    );
    let text = '';
    started.child.stdout?.setEncoding('utf8');
    started.child.stdout?.on('data', (chunk: string) => {
      text += chunk;
    });
    const { port } = await firstJsonLine<{ port: number }>(started, 10_000);
    return {
      process: started,
      url: `http://127.0.0.1:${port}/openai/v1/chat/completions`,
      trace: () => text,
    };
  }
  const file = join(tmp, `${target}-${Date.now()}.trace`);
  const fd = openSync(file, 'w');
  try {
    const running = await startLlmtap(target, {
      upstreamPort,
      prefix: '/openai',
      telemetry: target === 'llmtap',
      sinkPort,
      tmp,
      nodeFlags,
      nodeEnv: deployed.env,
      cli: built?.cli,
      stdoutFd: fd,
    });
    return {
      process: running.process,
      url: `http://127.0.0.1:${running.port}/openai/v1/chat/completions`,
      trace: () => readFileSync(file, 'utf8'),
    };
  } finally {
    closeSync(fd);
  }
};

const measure = async (target: Target, upstreamPort: number, sinkPort: number): Promise<GcLedger> => {
  // The trace counts milliseconds from the isolate's start, a few ms after the spawn: close enough for 5 s.
  const spawnedAt = performance.now();
  const running = await launch(target, upstreamPort, sinkPort);
  let from: number;
  let to: number;
  let calls: number;
  try {
    await load(running.url, warmupSeconds * 1000);
    from = performance.now() - spawnedAt;
    calls = await load(running.url, seconds * 1000);
    to = performance.now() - spawnedAt;
  } finally {
    // Stopped before reading: V8 buffers its stdout until exit.
    await stop(running.process);
  }
  const events = running
    .trace()
    .split('\n')
    .map(parseNvpLine)
    .filter((event): event is GcEvent => event !== undefined);
  return gcLedger(events, from, to, calls);
};

const sink = await startOtlpSink();
const upstream = start('upstream', process.execPath, [
  fileURLToPath(new URL('./fake-upstream.ts', import.meta.url)),
]);
const results = new Map<Target, GcLedger[]>();
try {
  const { port: upstreamPort } = await firstJsonLine<{ port: number }>(upstream, 10_000);
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const ledger = await measure(target, upstreamPort, sink.port);
      results.set(target, [...(results.get(target) ?? []), ledger]);
      process.stderr.write(`[gc-ledger] round ${round + 1} ${target}: ${JSON.stringify(ledger)}\n`);
    }
  }
} finally {
  await stopAll();
  await sink.close();
  rmSync(tmp, { recursive: true, force: true });
}

const COLUMNS: readonly [keyof GcLedger, string, number][] = [
  ['allocatedBytesPerCall', 'allocated B/call', 0],
  ['promotedBytesPerCall', 'promoted B/call', 0],
  ['scavengesPer1kCalls', 'scavenges /1k calls', 1],
  ['fullGcsPer1kCalls', 'full GCs /1k calls', 2],
  ['scavengePauseUsPerCall', 'scavenge pause µs/call', 1],
  ['fullGcMainUsPerCall', 'full GC main-thread µs/call', 1],
  ['backgroundUsPerCall', 'GC helper threads µs/call', 1],
];
const lines = [
  `GC per call, ${mode} at 64 concurrent, median of ${rounds} round(s) × ${seconds} s (NODE_OPTIONS ${nodeFlags.join(' ')})`,
  '',
  `| target | ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
  `|---|${COLUMNS.map(() => '---').join('|')}|`,
];
for (const [target, ledgers] of results) {
  const cells = COLUMNS.map(([key, , digits]) =>
    median(ledgers.map((ledger) => ledger[key])).toLocaleString('en-US', {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }),
  );
  lines.push(`| ${target} | ${cells.join(' | ')} |`);
}
process.stdout.write(
  `${lines.join('\n')}\n${JSON.stringify({ mode, rounds: Object.fromEntries(results) })}\n`,
);
process.exit(0);
