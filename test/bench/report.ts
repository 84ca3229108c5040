/** Markdown tables for stdout (the README's performance section copies them). */
import type { Getter } from './aggregate.ts';
import type { BudgetLine } from './budget.ts';
import type { CellSpec } from './cells.ts';
import type { StreamsResult } from './streams.ts';

const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

const num = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const div = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2);

const plus = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '–' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)}`;

export const throughputTable = (
  cells: readonly CellSpec[],
  targets: readonly string[],
  get: Getter,
): string => {
  const closed = cells.filter((c) => c.kind === 'closed');
  const head = [
    'cell',
    ...targets.map((t) => `${t} req/s`),
    'llmtap/direct',
    'llmtap/bare',
    'llmtap/nginx',
    'tel on/off',
    'p50 / p99 ms (llmtap)',
    'CPU % (llmtap)',
    ...targets.filter((t) => t !== 'direct').map((t) => `CPU µs/req ${t}`),
  ];
  const rows = closed.map((c) => {
    const rps = (t: string) => get(c.id, t, 'rps');
    return [
      c.id,
      ...targets.map((t) => num(rps(t))),
      div(rps('llmtap'), rps('direct')),
      div(rps('llmtap'), rps('bare')),
      div(rps('llmtap'), rps('nginx')),
      div(rps('llmtap'), rps('llmtap-notel')),
      `${num(get(c.id, 'llmtap', 'p50'), 2)} / ${num(get(c.id, 'llmtap', 'p99'), 2)}`,
      num(get(c.id, 'llmtap', 'cpuPct'), 0),
      ...targets.filter((t) => t !== 'direct').map((t) => num(get(c.id, t, 'cpuUsPerReq'), 1)),
    ];
  });
  return table(head, rows);
};

export const latencyTable = (cells: readonly CellSpec[], targets: readonly string[], get: Getter): string => {
  const open = cells.filter((c) => c.kind === 'open' || c.kind === 'ttft');
  const head = [
    'cell',
    'direct p50 / p99 / p99.9 ms',
    ...targets.filter((t) => t !== 'direct').map((t) => `${t} added p50 / p99 / p99.9`),
  ];
  const rows = open.map((c) => [
    c.kind === 'ttft' ? `${c.id} (TTFT)` : c.id,
    `${num(get(c.id, 'direct', 'p50'), 2)} / ${num(get(c.id, 'direct', 'p99'), 2)} / ${num(get(c.id, 'direct', 'p999'), 2)}`,
    ...targets
      .filter((t) => t !== 'direct')
      .map(
        (t) =>
          `${plus(get(c.id, t, 'p50'), get(c.id, 'direct', 'p50'))} / ${plus(get(c.id, t, 'p99'), get(c.id, 'direct', 'p99'))} / ${plus(get(c.id, t, 'p999'), get(c.id, 'direct', 'p999'))}`,
      ),
  ]);
  return table(head, rows);
};

export const eventCpuTable = (
  cells: readonly CellSpec[],
  targets: readonly string[],
  get: Getter,
): string => {
  const streaming = cells.filter((c) => c.mode === 'sse' || c.mode === 'ttft' || c.mode === 'paced');
  const proxies = targets.filter((t) => t !== 'direct');
  const head = [
    'cell',
    ...proxies.map((t) => `${t} CPU µs/event`),
    'llmtap/bare',
    'llmtap/nginx',
    ...proxies.map((t) => `${t} RSS peak MB`),
  ];
  const rows = streaming.map((c) => [
    c.id,
    ...proxies.map((t) => num(get(c.id, t, 'cpuUsPerEvent'), 1)),
    div(get(c.id, 'llmtap', 'cpuUsPerEvent'), get(c.id, 'bare', 'cpuUsPerEvent')),
    div(get(c.id, 'llmtap', 'cpuUsPerEvent'), get(c.id, 'nginx', 'cpuUsPerEvent')),
    ...proxies.map((t) => num(get(c.id, t, 'rssPeakMb'), 0)),
  ]);
  return table(head, rows);
};

export const streamsTable = (results: readonly StreamsResult[]): string =>
  table(
    [
      'target',
      'streams',
      'RSS before / during / after MB',
      'KB per stream',
      'CPU µs/event (1 ev/s)',
      'upstream open 1 s after disconnect',
      'all closed after',
    ],
    results.map((r) => [
      r.target,
      `${r.opened}/${r.count}`,
      `${num(r.rssBeforeMb)} / ${num(r.rssDuringMb)} / ${num(r.rssAfterMb)}`,
      r.target === 'direct' ? '–' : num(r.kbPerStream, 1),
      num(r.cpuUsPerEvent, 1),
      String(r.leaked),
      r.closedAfterMs === undefined ? `not in 10 s (${r.leakedAfter10s} open)` : `${num(r.closedAfterMs)} ms`,
    ]),
  );

export const budgetTable = (lines: readonly BudgetLine[]): string =>
  table(
    ['#', 'metric', 'goal', 'measured (median, min…max)', 'status'],
    lines.map((l) => [l.id, l.metric, l.goal, l.measured, l.status]),
  );
