/**
 * The performance budget (issue #8, targets T1–T12 of performance.md, and issue #15's sidecar-cost lines) as
 * checks over one run's results.
 * Ratios are evaluated on the medians and on each rep: a ratio FAILs only when the median misses and so do
 * at least 2 reps (full mode); in quick mode ratios only WARN. Correctness checks FAIL in every mode.
 */
import type { Getter } from './aggregate.ts';

export type Status = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface BudgetLine {
  readonly id: string;
  readonly metric: string;
  readonly goal: string;
  readonly measured: string;
  readonly status: Status;
  /** Correctness lines fail even in quick mode. */
  readonly correctness: boolean;
}

interface RatioCheck {
  readonly id: string;
  readonly metric: string;
  readonly goal: string;
  /** Value from a getter; undefined when an input is missing (→ SKIP). */
  readonly value: (get: Getter) => number | undefined;
  readonly ok: (value: number) => boolean;
  readonly format: (value: number) => string;
}

const ratio =
  (cell: string, field: 'rps' | 'cpuUsPerReq' | 'cpuUsPerEvent', a: string, b: string) =>
  (get: Getter): number | undefined => {
    const x = get(cell, a, field);
    const y = get(cell, b, field);
    return x === undefined || y === undefined || y === 0 ? undefined : x / y;
  };

const added =
  (cell: string, field: 'p50' | 'p99' | 'p999' | 'fullP50') =>
  (get: Getter): number | undefined => {
    const x = get(cell, 'llmtap', field);
    const y = get(cell, 'direct', field);
    return x === undefined || y === undefined ? undefined : x - y;
  };

/** What llmtap adds beyond the bare Node proxy in the same run (both measured against direct). */
const beyondBare =
  (cell: string, field: 'p50' | 'p99') =>
  (get: Getter): number | undefined => {
    const x = get(cell, 'llmtap', field);
    const y = get(cell, 'bare', field);
    return x === undefined || y === undefined ? undefined : x - y;
  };

const times = (v: number): string => `${v.toFixed(2)}×`;
const ms = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`;

export const RATIO_CHECKS: readonly RatioCheck[] = [
  {
    id: 'T1',
    metric: 'JSON req/s @64, llmtap / bare',
    goal: '≥ 0.90',
    value: ratio('json-c64', 'rps', 'llmtap', 'bare'),
    ok: (v) => v >= 0.9,
    format: times,
  },
  {
    id: 'T1',
    metric: 'JSON req/s @64, llmtap / nginx',
    goal: '≥ 0.45',
    value: ratio('json-c64', 'rps', 'llmtap', 'nginx'),
    ok: (v) => v >= 0.45,
    format: times,
  },
  {
    id: 'T2',
    metric: 'SSE streams/s @64, llmtap / nginx',
    goal: '≥ 0.70',
    value: ratio('sse-c64', 'rps', 'llmtap', 'nginx'),
    ok: (v) => v >= 0.7,
    format: times,
  },
  {
    id: 'T2',
    metric: 'SSE streams/s @64, llmtap / bare',
    goal: '≥ 0.75',
    value: ratio('sse-c64', 'rps', 'llmtap', 'bare'),
    ok: (v) => v >= 0.75,
    format: times,
  },
  {
    id: 'tel',
    metric: 'JSON req/s @64, telemetry on / off',
    goal: '≥ 0.90',
    value: ratio('json-c64', 'rps', 'llmtap', 'llmtap-notel'),
    ok: (v) => v >= 0.9,
    format: times,
  },
  {
    id: 'tel',
    metric: 'SSE streams/s @64, telemetry on / off',
    goal: '≥ 0.90',
    value: ratio('sse-c64', 'rps', 'llmtap', 'llmtap-notel'),
    ok: (v) => v >= 0.9,
    format: times,
  },
  {
    id: 'T3',
    metric: 'CPU per JSON request @64, llmtap / nginx',
    goal: '≤ 3.5',
    value: ratio('json-c64', 'cpuUsPerReq', 'llmtap', 'nginx'),
    ok: (v) => v <= 3.5,
    format: times,
  },
  {
    id: 'T4',
    metric: 'CPU per SSE event (5 ms cadence, 64 streams), llmtap / bare',
    goal: '≤ 1.15',
    value: ratio('ttft-c64', 'cpuUsPerEvent', 'llmtap', 'bare'),
    ok: (v) => v <= 1.15,
    format: times,
  },
  {
    id: 'T4',
    metric: 'CPU per SSE event (5 ms cadence, 64 streams), llmtap',
    goal: '≤ 25 µs',
    value: (get) => get('ttft-c64', 'llmtap', 'cpuUsPerEvent'),
    ok: (v) => v <= 25,
    format: (v) => `${v.toFixed(1)} µs`,
  },
  {
    id: 'T4',
    metric: 'CPU per SSE event (20 ms cadence, 200 streams), llmtap / bare',
    goal: '≤ 1.15',
    value: ratio('paced-c200', 'cpuUsPerEvent', 'llmtap', 'bare'),
    ok: (v) => v <= 1.15,
    format: times,
  },
  {
    id: 'T5',
    metric: 'added p50, open loop JSON 1,000/s',
    goal: '≤ +0.3 ms',
    value: added('open-json', 'p50'),
    ok: (v) => v <= 0.3,
    format: ms,
  },
  {
    id: 'T5',
    metric: 'added p99, open loop JSON 1,000/s',
    goal: '≤ +2 ms',
    value: added('open-json', 'p99'),
    ok: (v) => v <= 2,
    format: ms,
  },
  {
    id: 'T5',
    metric: 'added p99.9, open loop JSON 1,000/s',
    goal: '≤ +10 ms',
    value: added('open-json', 'p999'),
    ok: (v) => v <= 10,
    format: ms,
  },
  {
    id: 'T6',
    metric: 'added p50, open loop SSE 500/s (whole stream)',
    goal: '≤ +0.3 ms',
    value: added('open-sse', 'p50'),
    ok: (v) => v <= 0.3,
    format: ms,
  },
  {
    id: 'T6',
    metric: 'added p99, open loop SSE 500/s (whole stream)',
    goal: '≤ +1 ms',
    value: added('open-sse', 'p99'),
    ok: (v) => v <= 1,
    format: ms,
  },
  {
    id: 'T7',
    metric: 'added TTFT p50, 1 stream',
    goal: '≤ +0.5 ms',
    value: added('ttft-c1', 'p50'),
    ok: (v) => v <= 0.5,
    format: ms,
  },
  {
    id: 'T7',
    metric: 'added TTFT p50, 64 streams',
    goal: '≤ +0.5 ms',
    value: added('ttft-c64', 'p50'),
    ok: (v) => v <= 0.5,
    format: ms,
  },
  {
    id: 'T7',
    metric: 'added TTFT p99, 64 streams',
    goal: '≤ +3 ms',
    value: added('ttft-c64', 'p99'),
    ok: (v) => v <= 3,
    format: ms,
  },
  {
    id: 'T7',
    metric: 'added total stream time p50, 64 streams',
    goal: '≤ +3 ms',
    value: added('ttft-c64', 'fullP50'),
    ok: (v) => v <= 3,
    format: ms,
  },
  // Issue #15, "a sidecar every pod can afford": observing a call costs at most a third more than forwarding it.
  {
    id: '#15',
    metric: 'CPU per JSON call @64, telemetry on / off',
    goal: '≤ 1.30',
    value: ratio('json-c64', 'cpuUsPerReq', 'llmtap', 'llmtap-notel'),
    ok: (v) => v <= 1.3,
    format: times,
  },
  {
    id: '#15',
    metric: 'CPU per 50-event SSE stream @64, telemetry on / off',
    goal: '≤ 1.50',
    value: ratio('sse-c64', 'cpuUsPerReq', 'llmtap', 'llmtap-notel'),
    ok: (v) => v <= 1.5,
    format: times,
  },
  {
    id: '#15',
    metric: 'JSON req/s @64, llmtap / bare',
    goal: '≥ 0.80',
    value: ratio('json-c64', 'rps', 'llmtap', 'bare'),
    ok: (v) => v >= 0.8,
    format: times,
  },
  {
    id: '#15',
    metric: "added TTFT p50, 64 streams, minus bare's",
    goal: '≤ +0.5 ms',
    value: beyondBare('ttft-c64', 'p50'),
    ok: (v) => v <= 0.5,
    format: ms,
  },
  {
    id: '#15',
    metric: "added TTFT p99, 64 streams, minus bare's",
    goal: '≤ +2 ms',
    value: beyondBare('ttft-c64', 'p99'),
    ok: (v) => v <= 2,
    format: ms,
  },
];

export const evaluateRatios = (median: Getter, reps: readonly Getter[], quick: boolean): BudgetLine[] =>
  RATIO_CHECKS.map((check) => {
    const value = check.value(median);
    if (value === undefined) {
      return {
        id: check.id,
        metric: check.metric,
        goal: check.goal,
        measured: 'n/a',
        status: 'SKIP',
        correctness: false,
      };
    }
    const repValues = reps.map((get) => check.value(get)).filter((v): v is number => v !== undefined);
    const repFails = repValues.filter((v) => !check.ok(v)).length;
    const status: Status = check.ok(value)
      ? 'PASS'
      : !quick && repFails >= Math.min(2, repValues.length)
        ? 'FAIL'
        : 'WARN';
    const range =
      repValues.length > 1
        ? ` (${check.format(Math.min(...repValues))}…${check.format(Math.max(...repValues))})`
        : '';
    return {
      id: check.id,
      metric: check.metric,
      goal: check.goal,
      measured: `${check.format(value)}${range}`,
      status,
      correctness: false,
    };
  });

/** A single-valued line (memory, soak, correctness). */
export const line = (
  id: string,
  metric: string,
  goal: string,
  measured: string,
  ok: boolean | undefined,
  correctness: boolean,
  quick: boolean,
): BudgetLine => ({
  id,
  metric,
  goal,
  measured,
  correctness,
  status: ok === undefined ? 'SKIP' : ok ? 'PASS' : correctness || !quick ? 'FAIL' : 'WARN',
});
