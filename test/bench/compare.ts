/**
 * Before/after view of two bench result files (e.g. around an optimisation): every budget line's measured
 * value and status side by side, plus the llmtap/bare ratios of the closed-loop cells.
 *   npx node test/bench/compare.ts test/bench/results/<before>.json test/bench/results/<after>.json
 */
import { readFileSync } from 'node:fs';
import { medianGetter } from './aggregate.ts';
import type { BudgetLine } from './budget.ts';
import type { CellResult } from './cells.ts';

interface ResultFile {
  meta: { date: string; commit: string };
  results: CellResult[];
  budget: BudgetLine[];
}

const [beforePath, afterPath] = process.argv.slice(2);
if (beforePath === undefined || afterPath === undefined) {
  console.error('usage: compare.ts <before.json> <after.json>');
  process.exit(2);
}
const load = (path: string): ResultFile => JSON.parse(readFileSync(path, 'utf8')) as ResultFile;
const before = load(beforePath);
const after = load(afterPath);

console.log(
  `before: ${before.meta.date} (${before.meta.commit})  after: ${after.meta.date} (${after.meta.commit})\n`,
);
console.log('| # | metric | goal | before | after |');
console.log('|---|---|---|---|---|');
for (const line of after.budget) {
  const old = before.budget.find((b) => b.id === line.id && b.metric === line.metric);
  const was = old === undefined ? '–' : `${old.measured} ${old.status}`;
  console.log(`| ${line.id} | ${line.metric} | ${line.goal} | ${was} | ${line.measured} ${line.status} |`);
}

const b = medianGetter(before.results);
const a = medianGetter(after.results);
const cells = [...new Set(after.results.map((r) => r.cell))];
console.log('\n| cell | llmtap/bare req/s before → after | llmtap CPU µs/req before → after |');
console.log('|---|---|---|');
for (const cell of cells) {
  const ratio = (get: typeof a): string => {
    const x = get(cell, 'llmtap', 'rps');
    const y = get(cell, 'bare', 'rps');
    return x === undefined || y === undefined || y === 0 ? '–' : (x / y).toFixed(2);
  };
  const cpu = (get: typeof a): string => get(cell, 'llmtap', 'cpuUsPerReq')?.toFixed(0) ?? '–';
  console.log(`| ${cell} | ${ratio(b)} → ${ratio(a)} | ${cpu(b)} → ${cpu(a)} |`);
}
