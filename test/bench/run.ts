/**
 * `npm run bench`: starts a fake upstream, the anchors (direct, bare undici, nginx when installed) and
 * llmtap (telemetry on and off), runs every cell interleaved across targets (order reversed on odd reps),
 * then the open-streams/cancellation cell and the soak on fresh processes, and prints ratios measured in
 * this run against the budget. Exit code: 0 ok, 1 a budget/correctness line FAILed, 2 the bench broke.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medianGetter, repGetter, spreadOf } from './aggregate.ts';
import { type BudgetLine, evaluateRatios, line } from './budget.ts';
import { buildForBench } from './build.ts';
import { type CellContext, type CellResult, type CellSpec, runCell } from './cells.ts';
import { CLI, llmtapExists, REPO } from './llmtap.ts';
import { freePort } from './net.ts';
import { findNginx, nginxVersion } from './nginx.ts';
import { CELLS, type Options, parseOptions } from './options.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { rssKb } from './proc-stats.ts';
import { firstJsonLine, killAllNow, start, stopAll } from './procs.ts';
import { budgetTable, eventCpuTable, latencyTable, streamsTable, throughputTable } from './report.ts';
import { runSoak, SOAK_GROWTH, SOAK_HEAP_SLACK_MB, SOAK_SLACK_MB, type SoakResult } from './soak.ts';
import { round } from './stats.ts';
import { runStreams, type StreamsResult, upstreamQuiet } from './streams.ts';
import { startTarget, type Target, type TargetEnv, type TargetName } from './targets.ts';
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
    otelSdk: pkg('@opentelemetry/sdk-node'),
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

const main = async (): Promise<number> => {
  const options = parseOptions(process.argv.slice(2), process.env);
  const killer = setTimeout(() => {
    log(`global timeout (${options.globalTimeoutMs / 60_000} min): stopping everything`);
    killAllNow();
    process.exit(2);
  }, options.globalTimeoutMs);
  killer.unref();

  const tmp = mkdtempSync(join(tmpdir(), 'llmtap-bench-'));
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
  const built = options.built ? buildForBench(RESULTS) : undefined;
  const env: TargetEnv = {
    built,
    upstreamPort,
    sinkPort: sink.port,
    tmp,
    nginx,
    nodeFlags: options.nodeFlags,
    llmtapLogLevel: options.llmtapLogLevel,
  };
  const llmtapEnv: TargetEnv = { ...env, nodeFlags: [...options.nodeFlags, ...llmtapFlags] };
  const envFor = (name: TargetName): TargetEnv => (name.startsWith('llmtap') ? llmtapEnv : env);

  const problems: string[] = [];
  const budget: BudgetLine[] = [];
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
  if (options.streams > 0) {
    for (const name of names) {
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

  // ---- budget ----
  const median = medianGetter(results);
  const reps = [...new Set(results.map((r) => r.rep))].map((rep) => repGetter(results, rep));
  budget.push(...evaluateRatios(median, reps, options.quick));
  const q = options.quick;
  const llmtapStreams = streams.find((s) => s.target === 'llmtap');
  budget.push(
    line(
      'T8',
      `RSS per open stream (${options.streams} streams), llmtap`,
      '≤ 60 KB',
      llmtapStreams === undefined ? 'n/a' : `${llmtapStreams.kbPerStream.toFixed(1)} KB`,
      llmtapStreams === undefined ? undefined : llmtapStreams.kbPerStream <= 60,
      false,
      q,
    ),
  );
  const idleLlmtap = idle.llmtap;
  budget.push(
    line(
      'T9',
      'idle RSS, llmtap with OTel SDK',
      '≤ 80 MB',
      idleLlmtap === undefined ? 'n/a' : `${idleLlmtap.toFixed(1)} MB`,
      idleLlmtap === undefined ? undefined : idleLlmtap <= 80,
      false,
      q,
    ),
  );
  const peak = Math.max(0, ...results.filter((r) => r.target === 'llmtap').map((r) => r.rssPeakMb));
  budget.push(
    line(
      'T10',
      'peak RSS under load, llmtap',
      '≤ 256 MB',
      peak === 0 ? 'n/a' : `${peak.toFixed(0)} MB`,
      peak === 0 ? undefined : peak <= 256,
      false,
      q,
    ),
  );
  const repsRss = rssAfterRep.llmtap ?? [];
  const growth =
    repsRss.length >= 2 ? ((repsRss.at(-1) ?? 0) - (repsRss[0] ?? 0)) / (repsRss[0] ?? 1) : undefined;
  budget.push(
    line(
      'T10',
      'RSS growth rep 1 → last rep, llmtap',
      '≤ 10%',
      growth === undefined
        ? 'n/a (1 rep)'
        : `${(growth * 100).toFixed(1)}% (${repsRss.map((v) => v.toFixed(0)).join(' → ')} MB)`,
      growth === undefined ? undefined : growth <= 0.1,
      false,
      q,
    ),
  );
  const leaked = streams.filter((s) => s.leaked !== 0 && s.target !== 'direct');
  budget.push(
    line(
      'T11',
      `upstream streams left open 1 s after ${options.streams} clients left`,
      '0',
      streams.length === 0 ? 'n/a' : streams.map((s) => `${s.target} ${s.leaked}`).join(', '),
      streams.length === 0 ? undefined : leaked.length === 0,
      true,
      q,
    ),
  );
  const errorCells = results.filter((r) => r.errors + r.badBodies > 0);
  const verifyProblems = verify.filter((v) => v.problems.length > 0);
  budget.push(
    line(
      'T12',
      'errors and non-identical bodies under load',
      '0',
      errorCells.length === 0
        ? '0'
        : errorCells.map((r) => `${r.target} ${r.cell}: ${r.errors} err, ${r.badBodies} bad`).join('; '),
      errorCells.length === 0,
      true,
      q,
    ),
  );
  budget.push(
    line(
      'T12',
      'bodies byte-identical to direct (before and after load)',
      'all',
      verifyProblems.length === 0
        ? `${verify.reduce((n, v) => n + v.checked, 0)} checked`
        : verifyProblems.map((v) => `${v.target}: ${v.problems.join(', ')}`).join('; '),
      verifyProblems.length === 0,
      true,
      q,
    ),
  );
  if (soak !== undefined) {
    const s = soak;
    budget.push(
      line(
        'soak',
        `${s.calls} mixed calls through ${s.target}: errors, bodies, leaks`,
        '0',
        `${s.errors} err, ${s.badBodies} bad, ${s.leaked} left open`,
        s.errors + s.badBodies === 0 && s.leaked === 0 && s.calls >= options.soakCalls,
        true,
        q,
      ),
    );
    budget.push(
      line(
        'soak',
        'live heap (after full GC) growth over the second half',
        `≤ ${SOAK_HEAP_SLACK_MB} MB`,
        s.heapGrowthMb === undefined
          ? 'n/a (no heap probe)'
          : `${s.heapGrowthMb >= 0 ? '+' : ''}${s.heapGrowthMb.toFixed(2)} MB (${s.phases.map((p) => p.heapUsedMb?.toFixed(1) ?? '?').join(' → ')} MB)`,
        s.heapGrowthMb === undefined ? undefined : s.heapGrowthMb <= SOAK_HEAP_SLACK_MB,
        false,
        q,
      ),
    );
    budget.push(
      line(
        'soak',
        'RSS growth over the second half',
        `≤ ${SOAK_GROWTH * 100}% + ${SOAK_SLACK_MB} MB`,
        `${s.growthMb >= 0 ? '+' : ''}${s.growthMb.toFixed(1)} MB (bound ${s.boundMb.toFixed(1)}; ${s.phases.map((p) => p.rssMb.toFixed(0)).join(' → ')} MB)`,
        s.growthMb <= s.boundMb,
        false,
        q,
      ),
    );
  }
  const telemetry = sink.counts();
  if (names.includes('llmtap')) {
    const exports = Object.values(telemetry).reduce((n, c) => n + c.requests, 0);
    budget.push(
      line(
        'tel',
        'OTLP exports received by the sink (telemetry on)',
        '> 0',
        `${exports} (${Object.keys(telemetry).join(', ') || 'none'})`,
        exports > 0,
        false,
        q,
      ),
    );
  }
  budget.push(
    line(
      'run',
      'bench ran without problems',
      'none',
      problems.length === 0 ? 'none' : `${problems.length} (see above)`,
      problems.length === 0,
      true,
      q,
    ),
  );

  // ---- output ----
  const targetNames = targets.map((t) => t.name);
  const noisy = cells
    .filter((c) => c.kind === 'closed')
    .flatMap((c) =>
      targetNames.filter((t) => spreadOf(results, c.id, t, 'rps') > 0.15).map((t) => `${c.id}/${t}`),
    );
  const out: string[] = [];
  out.push(`\n## llmtap bench (${mode}) — ${info.date}, commit ${info.commit}`);
  out.push(
    `${info.cpu}, ${info.cores} cores, Linux ${info.kernel}, Node ${info.node}, undici ${info.undici}, OTel SDK ${info.otelSdk}`,
  );
  out.push(
    `load: ${info.loadgen}; nginx: ${info.nginx}; ${options.reps} rep(s) × ${options.durationMs / 1000} s cells, medians${options.reps > 1 ? ' (min…max in the budget)' : ''}`,
  );
  out.push(
    `Node proxy flags: ${options.nodeFlags.join(' ') || '(none)'}; ${options.built ? 'compiled JS (as the image runs)' : 'TypeScript sources via type stripping (+~14 MB RSS per Node proxy; --built for compiled JS)'}; ratios are from this run only.`,
  );
  for (const note of notes) out.push(`note: ${note}`);
  out.push(
    `idle RSS MB: ${Object.entries(idle)
      .map(([t, v]) => `${t} ${v.toFixed(1)}`)
      .join(', ')}`,
  );
  out.push('\n### Throughput (closed loop)\n');
  out.push(throughputTable(cells, targetNames, median));
  out.push(
    '\n### Latency added vs direct (open loop from scheduled send time; TTFT = first byte of a 5 ms-paced stream)\n',
  );
  out.push(latencyTable(cells, targetNames, median));
  out.push('\n### CPU per relayed SSE event and peak RSS\n');
  out.push(eventCpuTable(cells, targetNames, median));
  if (streams.length > 0) {
    out.push(`\n### ${options.streams} open idle streams on fresh processes, then all clients disconnect\n`);
    out.push(streamsTable(streams));
  }
  if (soak !== undefined) {
    out.push(
      `\n### Soak: ${soak.calls} calls (${Object.entries(soak.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}) through ${soak.target}`,
    );
    out.push(
      soak.phases
        .map(
          (p) =>
            `${p.phase}: ${p.calls} calls in ${p.seconds.toFixed(1)} s, RSS ${p.rssMb.toFixed(1)} MB` +
            (p.heapUsedMb === undefined ? '' : `, live heap ${p.heapUsedMb.toFixed(1)} MB`),
        )
        .join('; '),
    );
  }
  if (rerun.length > 0) out.push(`\nrerun once (rep spread > 15%): ${rerun.map((c) => c.id).join(', ')}`);
  if (noisy.length > 0) out.push(`noisy (rep spread > 15%, after any rerun): ${noisy.join(', ')}`);
  // Latency cells load the box lightly; a busy machine there means other tenants, so their tails are suspect.
  const crowded = cells
    .filter((c) => c.kind !== 'closed')
    .flatMap((c) => targetNames.map((t) => [c.id, t, median(c.id, t, 'busyPct')] as const))
    .filter(([, , busy]) => busy !== undefined && busy > 50)
    .map(([cell, t, busy]) => `${cell}/${t} ${busy?.toFixed(0)}%`);
  if (crowded.length > 0)
    out.push(`crowded latency cells (machine busy > 50%, other tenants): ${crowded.join(', ')}`);
  out.push('\n### Budget\n');
  out.push(budgetTable(budget));
  for (const problem of problems) out.push(`problem: ${problem}`);
  console.log(out.join('\n'));

  const file = join(RESULTS, `bench-${mode}-${info.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ meta: info, options, notes, idleRssMb: idle, rssAfterRepMb: rssAfterRep, verify, results, streams, soak, telemetry, budget, problems }, null, 2)}\n`,
  );
  log(`results written to ${file}`);
  await sink.close();
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
  clearTimeout(killer);
  const failed = budget.filter((b) => b.status === 'FAIL');
  if (failed.length > 0) log(`FAIL: ${failed.map((b) => `${b.id} ${b.metric}`).join('; ')}`);
  return problems.length > 0 ? 2 : failed.length > 0 ? 1 : 0;
};

process.on('exit', killAllNow);
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
