/**
 * `npm run bench`: starts a fake upstream, the anchors (direct, bare undici, nginx when installed) and
 * llmtap (telemetry on and off), runs every cell interleaved across targets (order reversed on odd reps),
 * then the open-streams/cancellation cell and the soak on fresh processes, and prints ratios measured in
 * this run against the budget. Exit code: 0 ok, 1 a budget/correctness line FAILed, 2 the bench broke.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spreadOf } from './aggregate.ts';
import { buildForBench } from './build.ts';
import { type CellContext, type CellResult, type CellSpec, runCell } from './cells.ts';
import { CLI, llmtapExists, REPO } from './llmtap.ts';
import { freePort } from './net.ts';
import { findNginx, nginxVersion } from './nginx.ts';
import { CELLS, type Options, parseOptions } from './options.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { rssKb } from './proc-stats.ts';
import { firstJsonLine, killAllNow, runNodeJson, start, stopAll } from './procs.ts';
import { summarizeProfile } from './profile-summary.ts';
import { runSoak, type SoakResult } from './soak.ts';
import { round } from './stats.ts';
import { runStreams, type StreamsResult, upstreamQuiet } from './streams.ts';
import { microTables, renderSummary } from './summary.ts';
import { startTarget, type Target, type TargetEnv, type TargetName } from './targets.ts';
import { budgetLines, type RunData } from './verdict.ts';
import { type VerifyResult, verifyTarget } from './verify.ts';
import { findWrk, runWrk } from './wrk.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const MAX_RERUNS = 3;
const HEAP_PROBE = fileURLToPath(new URL('./heap-probe.ts', import.meta.url));
/** An error for the report: its message and the first lines of any stderr it carries, bounded. */
const brief = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, 8)
    .join(' | ')
    .slice(0, 800);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};

const meta = (wrk: string | undefined, nginx: string | undefined) => {
  const pkg = (name: string): string => {
    try {
      return (
        JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return 'missing';
    }
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {}
  return {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    kernel: release(),
    loadgen: wrk === undefined ? 'node closed-loop client (wrk not installed)' : 'wrk -t1',
    nginx: nginx === undefined ? 'not installed (ratios vs bare only)' : nginxVersion(nginx),
    undici: pkg('undici'),
    otelSdk: pkg('@opentelemetry/sdk-trace'),
  };
};

const chooseTargets = (options: Options, nginx: string | undefined, notes: string[]): TargetName[] => {
  const all: TargetName[] = ['direct', 'bare', 'nginx', 'llmtap', 'llmtap-notel'];
  return (options.targets ?? all).filter((t) => {
    if (t === 'nginx' && nginx === undefined) {
      notes.push('nginx is not installed: ratios are against bare only (apt-get install nginx-light).');
      return false;
    }
    if (t.startsWith('llmtap') && !llmtapExists()) {
      notes.push(`${CLI} does not exist yet: llmtap was not measured.`);
      return false;
    }
    return true;
  });
};

const warmUp = async (targets: readonly Target[], context: CellContext, options: Options): Promise<void> => {
  for (const target of targets) {
    const url = `${target.base}/v1/chat/completions`;
    if (context.wrk !== undefined) {
      await runWrk(context.wrk, context.tmp, url, 'json', 64, options.warmupMs);
      await runWrk(context.wrk, context.tmp, url, 'sse', 16, options.warmupMs / 2);
    } else {
      await runCell({ id: 'warm-json', kind: 'closed', mode: 'json', connections: 64 }, target, 0, {
        ...context,
        durationMs: options.warmupMs,
      });
    }
  }
};

/** Summaries of the profiles this run wrote (one per llmtap process: long-lived targets, fresh ones). */
const printProfiles = (dir: string, since: number): void => {
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .filter((f) => statSync(f).mtimeMs >= since);
  } catch {}
  for (const file of files) console.log(`\n${summarizeProfile(file, 15)}`);
};

const main = async (): Promise<number> => {
  const startedAt = Date.now();
  const options = parseOptions(process.argv.slice(2), process.env);
  const killer = setTimeout(() => {
    log(`global timeout (${options.globalTimeoutMs / 60_000} min): stopping everything`);
    killAllNow();
    process.exit(2);
  }, options.globalTimeoutMs);
  killer.unref();

  const tmp = mkdtempSync(join(tmpdir(), 'llmtap-bench-'));
  tmpDirs.push(tmp);
  mkdirSync(RESULTS, { recursive: true });
  const wrk = process.env.BENCH_NO_WRK === '1' ? undefined : findWrk();
  const nginx = process.env.BENCH_NO_NGINX === '1' ? undefined : findNginx();
  const notes: string[] = [];
  if (wrk === undefined)
    notes.push('wrk is not installed: closed-loop cells use the Node client (lower ceiling).');
  const names = chooseTargets(options, nginx, notes);
  const info = meta(wrk, nginx);
  const mode = options.quick ? 'quick' : 'full';
  log(
    `${mode} run: ${options.reps} rep(s), ${options.durationMs / 1000} s cells, targets ${names.join(', ')}`,
  );
  for (const note of notes) log(note);

  const sink = await startOtlpSink();
  const upstream = start('upstream', process.execPath, [
    fileURLToPath(new URL('./fake-upstream.ts', import.meta.url)),
  ]);
  const { port: upstreamPort } = await firstJsonLine<{ port: number }>(upstream, 10_000);
  const llmtapFlags = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles')}`] : [];
  const built = options.built ? await buildForBench(RESULTS) : undefined;
  for (const warning of built?.warnings ?? []) notes.push(warning);
  const env: TargetEnv = {
    built,
    upstreamPort,
    sinkPort: sink.port,
    tmp,
    nginx,
    nodeFlags: options.nodeFlags,
    nodeEnv: options.nodeEnv,
    llmtapLogLevel: options.llmtapLogLevel,
  };
  const llmtapEnv: TargetEnv = {
    ...env,
    nodeFlags: [...options.nodeFlags, ...llmtapFlags],
    extraEnv: Object.keys(options.llmtapEnv).length > 0 ? options.llmtapEnv : undefined,
  };
  const envFor = (name: TargetName): TargetEnv => (name.startsWith('llmtap') ? llmtapEnv : env);

  const problems: string[] = [];
  const idle: Record<string, number> = {};
  const verify: VerifyResult[] = [];
  const results: CellResult[] = [];
  const rssAfterRep: Record<string, number[]> = {};
  const streams: StreamsResult[] = [];
  let soak: SoakResult | undefined;

  // Long-lived targets for the interleaved cells.
  const targets: Target[] = [];
  for (const name of names) {
    try {
      targets.push(await startTarget(name, envFor(name)));
    } catch (error) {
      problems.push(`${name} did not start: ${brief(error)}`);
    }
  }
  await sleep(2000);
  for (const target of targets) {
    if (target.process !== undefined) idle[target.name] = rssKb(target.process.pid) / 1024;
  }
  for (const target of targets) verify.push(await verifyTarget(target));

  const context: CellContext = { upstream, wrk, tmp, durationMs: options.durationMs };
  log('warm-up');
  await warmUp(targets, context, options);

  const cells = CELLS.filter((c) => options.cells === undefined || options.cells.includes(c.id));
  const measure = async (cell: CellSpec, order: readonly Target[], rep: number): Promise<void> => {
    const durationMs = cell.kind === 'open' ? Math.round(options.durationMs * 1.6) : options.durationMs;
    for (const target of order) {
      if (cell.mode !== 'json' && cell.mode !== 'large') await upstreamQuiet(upstreamPort, 2000);
      try {
        const result = await runCell(cell, target, rep, { ...context, durationMs });
        results.push(result);
        log(
          `rep ${rep} ${cell.id.padEnd(9)} ${target.name.padEnd(12)} ${round(result.rps, 0)}/s p50 ${round(result.p50, 2)} p99 ${round(result.p99, 2)} ms` +
            ` cpu ${round(result.cpuPct, 0)}% ${round(result.cpuUsPerReq, 1)} µs/req busy ${round(result.busyPct, 0)}%` +
            (result.errors + result.badBodies > 0 ? ` ERRORS ${result.errors}+${result.badBodies}` : ''),
        );
      } catch (error) {
        problems.push(`rep ${rep} ${cell.id} ${target.name}: ${brief(error)}`);
      }
    }
  };
  for (let rep = 1; rep <= options.reps; rep++) {
    const order = rep % 2 === 0 ? [...targets].reverse() : targets;
    for (const cell of cells) await measure(cell, order, rep);
    for (const target of targets) {
      if (target.process === undefined) continue;
      const list = rssAfterRep[target.name] ?? [];
      list.push(rssKb(target.process.pid) / 1024);
      rssAfterRep[target.name] = list;
    }
  }
  // Method rule: a closed-loop cell whose reps spread > 15% is measured once more (a few at most).
  const rerun =
    options.reps < 2
      ? []
      : cells
          .filter((c) => c.kind === 'closed')
          .filter((c) =>
            targets.some((t) => t.name !== 'direct' && spreadOf(results, c.id, t.name, 'rps') > 0.15),
          )
          .slice(0, MAX_RERUNS);
  for (const cell of rerun) {
    log(`rerun of noisy cell ${cell.id}`);
    await measure(cell, targets, options.reps + 1);
  }
  for (const target of targets) verify.push(await verifyTarget(target));
  await Promise.all(targets.map((t) => t.stop()));

  // Fresh processes: memory per open stream and cancellation.
  // Quick mode needs the cancellation check on the Node proxies only; full mode adds the anchors' figures.
  const streamTargets =
    options.streams === 0
      ? []
      : names.filter((n) => !options.quick || n.startsWith('llmtap') || n === 'bare');
  if (options.streams > 0) {
    for (const name of streamTargets) {
      try {
        const target = await startTarget(name, envFor(name));
        log(`open streams: ${options.streams} through ${name}`);
        streams.push(await runStreams(target, upstream, upstreamPort, options.streams));
        await target.stop();
      } catch (error) {
        problems.push(`streams ${name}: ${brief(error)}`);
      }
    }
  }

  // Soak on a fresh llmtap (telemetry on), or on bare while llmtap does not exist.
  const soakName: TargetName | undefined = names.includes('llmtap')
    ? 'llmtap'
    : names.includes('bare')
      ? 'bare'
      : undefined;
  if (options.soakCalls > 0 && soakName !== undefined) {
    try {
      const probePort = await freePort();
      const base = envFor(soakName);
      const target = await startTarget(soakName, {
        ...base,
        nodeFlags: [...base.nodeFlags, '--expose-gc', '--import', HEAP_PROBE],
        // A short span batch delay so memory is read with the export queue drained.
        extraEnv: { BENCH_HEAP_PROBE_PORT: String(probePort), OTEL_BSP_SCHEDULE_DELAY: '500' },
      });
      log(`soak: ${options.soakCalls} calls through ${soakName}`);
      soak = await runSoak(target, upstreamPort, options.soakCalls, `http://127.0.0.1:${probePort}/`);
      await target.stop();
    } catch (error) {
      problems.push(`soak: ${brief(error)}`);
    }
  }

  // In-process micro-benchmarks of the parsing layer (decoders.ts), full mode only, in a child process.
  let micro: Record<string, unknown> = {};
  if (!options.quick && options.cells === undefined) {
    try {
      log('micro-benchmarks (decoders.ts)');
      micro = await runNodeJson<Record<string, unknown>>(
        'micro',
        fileURLToPath(new URL('./micro.ts', import.meta.url)),
        {},
        300_000,
      );
    } catch (error) {
      notes.push(`micro-benchmarks failed: ${brief(error)}`);
    }
    try {
      log('observing cost per call, in-process (observe.ts)');
      Object.assign(
        micro,
        await runNodeJson<Record<string, unknown>>(
          'observe',
          fileURLToPath(new URL('./observe.ts', import.meta.url)),
          { calls: 20_000 },
          300_000,
        ),
      );
    } catch (error) {
      notes.push(`observe micro-benchmark failed: ${brief(error)}`);
    }
  }
  const telemetry = sink.counts();
  const data: RunData = {
    options,
    names,
    targets: targets.map((t) => t.name),
    cells,
    results,
    idle,
    rssAfterRep,
    verify,
    streams,
    soak,
    telemetry,
    problems,
    rerun,
    streamTargets,
  };
  const budget = budgetLines(data);
  console.log(renderSummary(data, budget, info, notes));
  console.log(microTables(micro));

  const file = join(RESULTS, `bench-${mode}-${info.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ meta: info, options, notes, idleRssMb: idle, rssAfterRepMb: rssAfterRep, verify, results, streams, soak, telemetry, budget, problems, micro }, null, 2)}\n`,
  );
  log(`results written to ${file}`);
  await sink.close();
  await stopAll();
  if (options.cpuProf) printProfiles(join(RESULTS, 'profiles'), startedAt);
  rmSync(tmp, { recursive: true, force: true });
  clearTimeout(killer);
  const failed = budget.filter((b) => b.status === 'FAIL');
  if (failed.length > 0) log(`FAIL: ${failed.map((b) => `${b.id} ${b.metric}`).join('; ')}`);
  return problems.length > 0 ? 2 : failed.length > 0 ? 1 : 0;
};

/** Temporary directories to remove however the run ends (configs, nginx temp paths, wrk scripts). */
const tmpDirs: string[] = [];
process.on('exit', () => {
  killAllNow();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });
}
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    killAllNow();
    process.exit(2);
  },
);
