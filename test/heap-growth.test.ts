/**
 * src/heap-growth.ts: under the sidecar's heap cap, llmtap widens V8's old-generation growth so a steady stream
 * of promoted, short-lived objects (what a proxy at 64 concurrent calls produces) runs far fewer full GCs.
 * Measured in child processes started with the manifest's NODE_OPTIONS, counting V8's own major-GC events.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, widenHeapGrowth } from '../src/heap-growth.ts';

const run = promisify(execFile);
const MODULE = new URL('../src/heap-growth.ts', import.meta.url).href;

// Objects that outlive a few scavenges (so they are promoted) and then die in the old generation.
const CHURN = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { widenHeapGrowth } from ${JSON.stringify(MODULE)};
if (process.argv.at(-1) === 'widen') widenHeapGrowth([]);
let majors = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
});
observer.observe({ entryTypes: ['gc'] });
const ring = new Array(120000);
for (let i = 0; i < 3000000; i++) ring[i % ring.length] = { id: i, tags: [i, i + 1, i + 2], name: 'call-' + i };
setTimeout(() => { process.stdout.write(JSON.stringify({ majors })); }, 50);
`;

const majorGcs = async (mode: 'widen' | 'default'): Promise<number> => {
  const { stdout } = await run(
    process.execPath,
    ['--max-old-space-size=160', '--max-semi-space-size=8', '--input-type=module', '-e', CHURN, mode],
    { timeout: 60_000 },
  );
  return (JSON.parse(stdout) as { majors: number }).majors;
};

describe('widenHeapGrowth', () => {
  it('makes full collections under a steady promotion rate several times rarer', async () => {
    const [widened, standard] = await Promise.all([majorGcs('widen'), majorGcs('default')]);
    expect(standard).toBeGreaterThanOrEqual(6);
    expect(widened).toBeLessThanOrEqual(standard / 2); // measured: 6-7 against 19
  });

  it('leaves a growing factor given on the command line alone', () => {
    expect(widenHeapGrowth(['--heap-growing-percent=0'])).toBe(false);
    expect(widenHeapGrowth(['--inspect', '--heap_growing_percent=50'])).toBe(false);
    expect(HEAP_GROWING_PERCENT).toBe(200);
  });
});
