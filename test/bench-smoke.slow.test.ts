/**
 * CI smoke of the benchmark harness: a trimmed quick run (JSON, SSE and TTFT cells, open streams with
 * cancellation, a short soak) must finish with exit code 0, which quick mode gives unless correctness broke
 * (errors, bodies differing from direct, upstream streams left open) or the harness itself did.
 * It takes ~70 s on a busy 2-core box, so it is in the slow tier (`npm run test:slow`, which `.ci/run` runs).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('./bench/run.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./bench/results/', import.meta.url));
describe('npm run bench -- --quick (trimmed)', () => {
  it('runs end to end with correct bytes, no errors and no leaked upstream streams', () => {
    const before = new Set(safeList());
    const run = spawnSync(
      process.execPath,
      [
        RUN,
        '--quick',
        '--targets=direct,bare,llmtap',
        '--cells=json-c64,sse-c64,ttft-c64',
        '--duration=1',
        '--streams=200',
        '--soak=1000',
      ],
      { encoding: 'utf8', timeout: 240_000, env: { ...process.env, BENCH_QUICK: '1' } },
    );
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('### Budget');
    const fresh = safeList().filter((f) => !before.has(f) && f.startsWith('bench-quick-'));
    expect(fresh.length).toBe(1);
    const result = JSON.parse(readFileSync(`${RESULTS}${fresh[0]}`, 'utf8')) as {
      budget: { status: string; correctness: boolean }[];
      streams: { target: string; leaked: number }[];
    };
    expect(result.budget.filter((line) => line.correctness && line.status !== 'PASS')).toEqual([]);
    // Quick mode checks cancellation on the Node proxies (bare and llmtap here).
    expect(result.streams.map((s) => [s.target, s.leaked])).toEqual([
      ['bare', 0],
      ['llmtap', 0],
    ]);
  }, 300_000);
});

const safeList = (): string[] => {
  try {
    return readdirSync(RESULTS);
  } catch {
    return [];
  }
};
