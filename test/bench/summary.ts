/** The human report printed on stdout (markdown; the README's performance section copies it). */
import { medianGetter, spreadOf } from './aggregate.ts';
import type { BudgetLine } from './budget.ts';
import { budgetTable, eventCpuTable, latencyTable, streamsTable, throughputTable } from './report.ts';
import type { RunData } from './verdict.ts';

export interface RunInfo {
  readonly date: string;
  readonly commit: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly kernel: string;
  readonly loadgen: string;
  readonly nginx: string;
  readonly undici: string;
  readonly otelSdk: string;
}

export const renderSummary = (
  data: RunData,
  budget: readonly BudgetLine[],
  info: RunInfo,
  notes: readonly string[],
): string => {
  const { options, cells, results, idle, streams, soak, problems, rerun } = data;
  const mode = options.quick ? 'quick' : 'full';
  const targetNames = data.targets;
  const median = medianGetter(results);
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
    `Node proxy flags: ${options.nodeFlags.join(' ') || '(none)'}; env: ${
      Object.entries(options.nodeEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    }; ${options.built ? 'compiled JS (as the image runs)' : 'TypeScript sources via type stripping (+~14 MB RSS per Node proxy; --built for compiled JS)'}; ratios are from this run only.`,
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
            (p.liveMb === undefined ? '' : `, live ${p.liveMb.toFixed(1)} MB`) +
            (p.loopMaxMs === undefined ? '' : `, longest loop block ${p.loopMaxMs.toFixed(1)} ms`),
        )
        .join('; '),
    );
  }
  if (rerun.length > 0) out.push(`\nrerun once (rep spread > 15%): ${rerun.map((c) => c.id).join(', ')}`);
  if (noisy.length > 0) out.push(`noisy (rep spread > 15%, after any rerun): ${noisy.join(', ')}`);
  // CPU that neither the targets, the upstream nor the load generators used: other tenants (plus some of
  // the loopback's softirq time). Above 15% of the machine a cell's figures are disturbed.
  const disturbed = cells
    .flatMap((c) => targetNames.map((t) => [c.id, t, median(c.id, t, 'foreignPct')] as const))
    .filter(([, , foreign]) => foreign !== undefined && foreign > 15)
    .map(([cell, t, foreign]) => `${cell}/${t} ${foreign?.toFixed(0)}%`);
  if (disturbed.length > 0)
    out.push(`disturbed by other load (median foreign CPU > 15% of the machine): ${disturbed.join(', ')}`);
  const lagging = results
    .filter((r) => (r.clientLagMs ?? 0) > 20)
    .map((r) => `${r.cell}/${r.target} rep ${r.rep} ${r.clientLagMs?.toFixed(0)} ms`);
  if (lagging.length > 0) out.push(`open-loop client fell behind schedule (> 20 ms): ${lagging.join(', ')}`);
  out.push('\n### Budget\n');
  out.push(budgetTable(budget));
  for (const problem of problems) out.push(`problem: ${problem}`);
  return out.join('\n');
};

const cellText = (value: unknown): string =>
  value === undefined || value === null
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/** The parsing layer's micro-benchmark rows (whatever columns they carry), one table per function. */
export const microTables = (micro: Readonly<Record<string, unknown>>): string => {
  const parts: string[] = [];
  for (const [name, rows] of Object.entries(micro)) {
    if (!Array.isArray(rows) || rows.length === 0) {
      parts.push(`\n### ${name}: ${cellText(rows)}`);
      continue;
    }
    const records = rows as Record<string, unknown>[];
    const columns = [...new Set(records.flatMap((row) => Object.keys(row)))];
    const source =
      name === 'observe' ? 'observe.ts: capture, adapter, span, metrics, OTLP export' : 'decoders.ts';
    parts.push(`\n### ${name} (in-process, test/bench/${source})\n`);
    parts.push(`| ${columns.join(' | ')} |`);
    parts.push(`|${columns.map(() => '---').join('|')}|`);
    for (const row of records) parts.push(`| ${columns.map((c) => cellText(row[c])).join(' | ')} |`);
  }
  return parts.join('\n');
};
