/** Looks up per-rep and median figures of the measured cells. */
import type { CellResult } from './cells.ts';
import { median, spread } from './stats.ts';

export type Field =
  | 'rps'
  | 'p50'
  | 'p99'
  | 'p999'
  | 'fullP50'
  | 'cpuUsPerReq'
  | 'cpuUsPerEvent'
  | 'cpuPct'
  | 'busyPct'
  | 'foreignPct'
  | 'rssPeakMb';

/** A getter for one figure; `undefined` when the cell or target was not measured. */
export type Getter = (cell: string, target: string, field: Field) => number | undefined;

const valuesOf = (results: readonly CellResult[], cell: string, target: string, field: Field): number[] =>
  results
    .filter((r) => r.cell === cell && r.target === target)
    .map((r) => r[field])
    .filter((v): v is number => typeof v === 'number');

export const medianGetter =
  (results: readonly CellResult[]): Getter =>
  (cell, target, field) => {
    const values = valuesOf(results, cell, target, field);
    return values.length === 0 ? undefined : median(values);
  };

export const repGetter =
  (results: readonly CellResult[], rep: number): Getter =>
  (cell, target, field) =>
    results.find((r) => r.cell === cell && r.target === target && r.rep === rep)?.[field];

export const spreadOf = (
  results: readonly CellResult[],
  cell: string,
  target: string,
  field: Field,
): number => spread(valuesOf(results, cell, target, field));

export const rangeOf = (results: readonly CellResult[], cell: string, target: string, field: Field) => {
  const values = valuesOf(results, cell, target, field);
  return values.length === 0 ? undefined : { min: Math.min(...values), max: Math.max(...values) };
};
