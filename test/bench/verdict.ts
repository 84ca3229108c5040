/**
 * Turns one run's measurements into the budget lines: ratio targets from budget.ts, then memory,
 * cancellation, correctness, soak and telemetry lines.
 */
import { medianGetter, repGetter } from './aggregate.ts';
import { type BudgetLine, evaluateRatios, line } from './budget.ts';
import type { CellResult, CellSpec } from './cells.ts';
import type { Options } from './options.ts';
import { SOAK_GROWTH, SOAK_LIVE_SLACK_MB, SOAK_SLACK_MB, type SoakResult } from './soak.ts';
import type { StreamsResult } from './streams.ts';
import type { TargetName } from './targets.ts';
import type { VerifyResult } from './verify.ts';

/** Everything one run measured. */
export interface RunData {
  readonly options: Options;
  /** Targets asked for (after dropping missing nginx/llmtap). */
  readonly names: readonly TargetName[];
  /** Targets that started for the interleaved cells. */
  readonly targets: readonly TargetName[];
  readonly cells: readonly CellSpec[];
  readonly results: readonly CellResult[];
  readonly idle: Readonly<Record<string, number>>;
  readonly rssAfterRep: Readonly<Record<string, readonly number[]>>;
  readonly verify: readonly VerifyResult[];
  readonly streams: readonly StreamsResult[];
  readonly soak: SoakResult | undefined;
  readonly telemetry: Readonly<Record<string, { requests: number; bytes: number }>>;
  readonly problems: readonly string[];
  readonly rerun: readonly CellSpec[];
  /** Targets the open-streams cell was meant to run on. */
  readonly streamTargets: readonly TargetName[];
}

/** The cells of #15's peak-RSS line (see budgetLines). */
const PEAK64_CELLS: readonly string[] = ['json-c64', 'sse-c64'];

export const budgetLines = (data: RunData): BudgetLine[] => {
  const { options, names, results, idle, rssAfterRep, verify, streams, soak, telemetry, problems } = data;
  const budget: BudgetLine[] = [];
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
  budget.push(
    line(
      '#15',
      "idle RSS, the image's command (2 s after ready)",
      '≤ 64 MB',
      idleLlmtap === undefined
        ? 'n/a'
        : `${idleLlmtap.toFixed(1)} MB${options.built ? '' : ' (src, not --built)'}`,
      idleLlmtap === undefined ? undefined : idleLlmtap <= 64,
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
  // #15's line: json-c64 and sse-c64 of the first rep, which run before any 1 MB-body cell. A Node process keeps
  // the malloc memory that large-c16's 16 concurrent 1 MB bodies leave, so later -c64 cells (ttft-c64, every
  // rep after the first) carry it: that peak is T10's line above. bare's peak, same flags and env, is the floor.
  const firstRep = Math.min(...results.map((r) => r.rep));
  const peak64 = (target: TargetName): number =>
    Math.max(
      0,
      ...results
        .filter((r) => r.target === target && r.rep === firstRep && PEAK64_CELLS.includes(r.cell))
        .map((r) => r.rssPeakMb),
    );
  const llmtap64 = peak64('llmtap');
  const bare64 = peak64('bare');
  budget.push(
    line(
      '#15',
      'peak RSS, 64 concurrent calls and streams (json-c64, sse-c64, rep 1), llmtap',
      '≤ 200 MB',
      llmtap64 === 0
        ? 'n/a'
        : `${llmtap64.toFixed(0)} MB${bare64 === 0 ? '' : ` (bare ${bare64.toFixed(0)} MB)`}`,
      llmtap64 === 0 ? undefined : llmtap64 <= 200,
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
  const missing = data.streamTargets.filter((n) => n !== 'direct' && !streams.some((s) => s.target === n));
  budget.push(
    line(
      'T11',
      `upstream streams left open 1 s after ${options.streams} clients left`,
      '0',
      streams.length === 0
        ? 'n/a'
        : [...streams.map((s) => `${s.target} ${s.leaked}`), ...missing.map((n) => `${n} not run`)].join(
            ', ',
          ),
      streams.length === 0 ? undefined : leaked.length === 0 && missing.length === 0,
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
        : [...new Set(verifyProblems.map((v) => `${v.target}: ${v.problems.join(', ')}`))].join('; '),
      verifyProblems.length === 0,
      true,
      q,
    ),
  );
  if (soak !== undefined) {
    const s = soak;
    const sign = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)} MB`;
    budget.push(
      line(
        'soak',
        `${s.calls} mixed calls through ${s.target}: errors, bodies, leaks`,
        '0',
        `${s.errors} err, ${s.badBodies} bad, ${s.leaked} left open`,
        s.correct,
        true,
        q,
      ),
    );
    budget.push(
      line(
        'soak',
        'live memory (heap + external after full GC) growth over the second half',
        `≤ ${SOAK_LIVE_SLACK_MB} MB`,
        s.liveGrowthMb === undefined
          ? 'n/a (no heap probe)'
          : `${sign(s.liveGrowthMb)} (${s.phases.map((p) => p.liveMb?.toFixed(1) ?? '?').join(' → ')} MB)`,
        s.liveGrowthMb === undefined ? undefined : s.memoryOk,
        false,
        q,
      ),
    );
    budget.push(
      line(
        'loop',
        'longest event-loop block while serving (monitorEventLoopDelay max, soak halves)',
        '≤ 2 ms',
        s.loopMaxMs === undefined
          ? 'n/a (no probe)'
          : `${s.loopMaxMs.toFixed(1)} ms (${s.phases.map((p) => p.loopMaxMs?.toFixed(1) ?? '?').join(' → ')})`,
        s.loopMaxMs === undefined ? undefined : s.loopMaxMs <= 2,
        false,
        q,
      ),
    );
    // With the live figure known, RSS growth only warns: it also tracks what V8 and malloc keep around.
    budget.push(
      line(
        'soak',
        'RSS growth over the second half',
        `≤ ${SOAK_GROWTH * 100}% + ${SOAK_SLACK_MB} MB`,
        `${sign(s.rssGrowthMb)} (bound ${s.rssBoundMb.toFixed(1)}; ${s.phases.map((p) => p.rssMb.toFixed(0)).join(' → ')} MB)`,
        s.rssGrowthMb <= s.rssBoundMb,
        false,
        q || s.liveGrowthMb !== undefined,
      ),
    );
  }
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

  return budget;
};
