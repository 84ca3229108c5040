/**
 * Unit tests of the bench's pure parts (fast, no processes): payload invariants, the mode selector the fake
 * upstream relies on, medians and spreads, and the verdict rules (a ratio FAILs only when the median and at
 * least two reps miss it; quick mode never fails on ratios, always on correctness).
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Getter } from './aggregate.ts';
import { medianGetter, repGetter } from './aggregate.ts';
import { type BudgetLine, evaluateRatios, line } from './budget.ts';
import type { CellResult } from './cells.ts';
import { gcLedger, parseNvpLine } from './gc-trace.ts';
import { deployedRuntime, parseOptions, runtimeFromManifest } from './options.ts';
import { answerFor, eventsPerStream, MODES, modeOf, requestBody } from './payloads.ts';
import { median, spread } from './stats.ts';
import { budgetLines, type RunData } from './verdict.ts';

describe('payloads', () => {
  it('selects every mode from the first bytes of its request body', () => {
    for (const mode of MODES) expect(modeOf(requestBody(mode).subarray(0, 64))).toBe(mode);
    expect(modeOf(Buffer.from('{"model":"gpt-4o"}'))).toBe('json');
  });

  it('answers the sizes the bench is specified with', () => {
    expect(answerFor('json').body.length).toBeGreaterThan(1000);
    expect(answerFor('json').body.length).toBeLessThan(1300);
    expect(requestBody('large').length).toBeGreaterThan(1_000_000);
    expect(eventsPerStream('sse')).toBe(52);
    expect(answerFor('ttft').parts.length).toBe(52);
    expect(answerFor('sse').parts.length).toBe(1);
    expect(Buffer.concat([...answerFor('ttft').parts]).toString()).toContain('"usage":{"prompt_tokens"');
  });

  it('asks for streaming usage itself, so a proxy that injects it must not change the bytes', () => {
    for (const mode of ['sse', 'ttft', 'paced', 'slow'] as const) {
      expect(JSON.parse(requestBody(mode).toString())).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
      });
    }
  });
});

describe('gc-trace (V8 --trace-gc-nvp lines, recorded from llmtap under load)', () => {
  const lines = readFileSync(new URL('./fixtures/trace-gc-nvp.txt', import.meta.url), 'utf8').split('\n');
  const events = lines.map(parseNvpLine);

  it("reads a scavenge and a mark-compact, and nothing from llmtap's own log lines", () => {
    expect(events[0]).toBeUndefined();
    expect(events[1]).toEqual({
      atMs: 9409,
      kind: 'scavenge',
      pauseMs: 3.1,
      incrementalMs: 0,
      backgroundMs: 2.75,
      allocated: 5962352,
      promoted: 1676016,
    });
    expect(events[2]).toMatchObject({ atMs: 9326, kind: 'full', pauseMs: 8.8, incrementalMs: 5.4 });
    expect(events[2]?.backgroundMs).toBeCloseTo(70 + 7.5 + 5.2 + 0.6, 6);
  });

  it('spreads the collections of a window over the calls served in it', () => {
    const parsed = events.filter((event) => event !== undefined);
    const onlyScavenge = gcLedger(parsed, 9400, 9500, 100);
    expect(onlyScavenge).toMatchObject({ scavengesPer1kCalls: 10, fullGcsPer1kCalls: 0 });
    expect(onlyScavenge.allocatedBytesPerCall).toBeCloseTo(59623.52, 6);
    expect(onlyScavenge.scavengePauseUsPerCall).toBeCloseTo(31, 6);
    const both = gcLedger(parsed, 9000, 10000, 1000);
    expect(both.allocatedBytesPerCall).toBeCloseTo((5962352 + 8118840) / 1000, 6);
    expect(both.promotedBytesPerCall).toBeCloseTo((1676016 + 2994336) / 1000, 6);
    expect(both.fullGcMainUsPerCall).toBeCloseTo(8.8 + 5.4, 6);
    expect(both.backgroundUsPerCall).toBeCloseTo(2.75 + 83.3, 6);
    expect(Number.isNaN(gcLedger(parsed, 0, 1, 0).allocatedBytesPerCall)).toBe(true);
  });
});

describe('stats', () => {
  it('median and spread', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
    expect(spread([90, 100, 110])).toBeCloseTo(0.2);
    expect(spread([100])).toBe(0);
  });
});

const cell = (target: string, rep: number, rps: number): CellResult => ({
  cell: 'json-c64',
  target,
  rep,
  requests: rps,
  rps,
  p50: 1,
  p99: 2,
  p999: 3,
  errors: 0,
  badBodies: 0,
  cpuUsPerReq: 10,
  cpuPct: 50,
  upstreamCpuPct: 10,
  busyPct: 90,
  foreignPct: 5,
  rssPeakMb: 100,
});

const t1Bare = (results: CellResult[], quick: boolean) => {
  const reps: Getter[] = [1, 2, 3].map((rep) => repGetter(results, rep));
  const lines = evaluateRatios(medianGetter(results), reps, quick);
  const found = lines.find((l) => l.metric === 'JSON req/s @64, llmtap / bare');
  if (found === undefined) throw new Error('T1 line missing');
  return found;
};

describe('verdicts', () => {
  const bare = [cell('bare', 1, 1000), cell('bare', 2, 1000), cell('bare', 3, 1000)];

  it('passes when the median meets the target', () => {
    const results = [...bare, cell('llmtap', 1, 950), cell('llmtap', 2, 800), cell('llmtap', 3, 920)];
    expect(t1Bare(results, false).status).toBe('PASS');
  });

  it('fails in full mode only when the median and at least two reps miss', () => {
    const twoMiss = [...bare, cell('llmtap', 1, 700), cell('llmtap', 2, 800), cell('llmtap', 3, 950)];
    expect(t1Bare(twoMiss, false).status).toBe('FAIL');
    expect(t1Bare(twoMiss, true).status).toBe('WARN');
  });

  it('skips ratios whose anchor was not measured', () => {
    const results = [cell('llmtap', 1, 950)];
    const lines = evaluateRatios(medianGetter(results), [repGetter(results, 1)], false);
    expect(lines.every((l) => l.status === 'SKIP')).toBe(true);
  });

  it("#15 lines: CPU on/off from the notel twin, TTFT beyond the bare proxy's", () => {
    const at = (c: CellResult, name: string, extra: Partial<CellResult>): CellResult => ({
      ...c,
      cell: name,
      ...extra,
    });
    const results: CellResult[] = [1, 2, 3].flatMap((rep) => [
      at(cell('llmtap', rep, 900), 'json-c64', { cpuUsPerReq: 390 }),
      at(cell('llmtap-notel', rep, 1000), 'json-c64', { cpuUsPerReq: 300 }),
      at(cell('llmtap', rep, 900), 'sse-c64', { cpuUsPerReq: 600 }),
      at(cell('llmtap-notel', rep, 1000), 'sse-c64', { cpuUsPerReq: 300 }),
      at(cell('llmtap', rep, 60), 'ttft-c64', { p50: 7.9, p99: 12 }),
      at(cell('bare', rep, 60), 'ttft-c64', { p50: 7.6, p99: 9.5 }),
    ]);
    const lines = evaluateRatios(
      medianGetter(results),
      [1, 2, 3].map((rep) => repGetter(results, rep)),
      false,
    ).filter((l) => l.id === '#15');
    const byMetric = Object.fromEntries(lines.map((l) => [l.metric, l]));
    expect(byMetric['CPU per JSON call @64, telemetry on / off']).toMatchObject({ status: 'PASS' });
    expect(byMetric['CPU per JSON call @64, telemetry on / off']?.measured).toMatch(/^1\.30×/);
    expect(byMetric['CPU per 50-event SSE stream @64, telemetry on / off']).toMatchObject({ status: 'FAIL' });
    expect(byMetric["added TTFT p50, 64 streams, minus bare's"]?.measured).toMatch(/^\+0\.30 ms/);
    expect(byMetric["added TTFT p99, 64 streams, minus bare's"]).toMatchObject({ status: 'FAIL' });
    // No bare anchor in this run: the throughput line cannot be judged.
    expect(byMetric['JSON req/s @64, llmtap / bare']).toMatchObject({ status: 'SKIP' });
  });

  it('correctness fails in quick mode too; other single lines only warn there', () => {
    expect(line('T11', 'leaks', '0', '3', false, true, true).status).toBe('FAIL');
    expect(line('T9', 'idle', '≤ 80 MB', '90 MB', false, false, true).status).toBe('WARN');
    expect(line('T9', 'idle', '≤ 80 MB', '90 MB', false, false, false).status).toBe('FAIL');
    expect(line('T9', 'idle', '≤ 80 MB', 'n/a', undefined, false, false).status).toBe('SKIP');
  });
});

describe('runtime settings of the Node proxies', () => {
  const manifest = (env: string): string =>
    [
      'spec:',
      '  template:',
      '    spec:',
      '      initContainers:',
      '        - name: llmtap',
      '          env:',
      ...env.split('\n').map((l) => `            ${l}`),
    ].join('\n');

  it("takes the manifest's NODE_OPTIONS and runtime env, never llmtap's own settings", () => {
    const runtime = runtimeFromManifest(
      manifest(
        [
          '- name: K8S_POD_NAME',
          '  valueFrom: {fieldRef: {fieldPath: metadata.name}}',
          '- name: LLMTAP_DRAIN_TIMEOUT',
          '  value: 20s',
          '- name: OTEL_EXPORTER_OTLP_PROTOCOL',
          '  value: http/protobuf',
          '- name: NODE_OPTIONS',
          '  value: --max-old-space-size=160 --max-semi-space-size=8',
          '- name: MALLOC_ARENA_MAX',
          '  value: "2"',
        ].join('\n'),
      ),
    );
    expect(runtime).toEqual({
      nodeOptions: '--max-old-space-size=160 --max-semi-space-size=8',
      env: { MALLOC_ARENA_MAX: '2' },
    });
  });

  it('gives every Node proxy the deployed settings unless BENCH_NODE_FLAGS / BENCH_NODE_ENV say otherwise', () => {
    const deployed = deployedRuntime();
    expect(deployed.nodeOptions).toMatch(/--max-old-space-size=\d+/);
    const defaults = parseOptions([], {});
    expect(defaults.nodeFlags.join(' ')).toBe(deployed.nodeOptions);
    expect(defaults.nodeEnv).toEqual(deployed.env);
    const overridden = parseOptions([], {
      BENCH_NODE_FLAGS: '--max-old-space-size=96',
      BENCH_NODE_ENV: 'A=1 B=x',
    });
    expect(overridden.nodeFlags).toEqual(['--max-old-space-size=96']);
    expect(overridden.nodeEnv).toEqual({ A: '1', B: 'x' });
    expect(parseOptions([], { BENCH_NODE_ENV: '' }).nodeEnv).toEqual({});
    expect(() => parseOptions([], { BENCH_NODE_ENV: 'oops' })).toThrow(/BENCH_NODE_ENV/);
  });
});

describe("#15's peak-RSS line", () => {
  type Peak = readonly [string, string, number, number];
  const run = (peaks: readonly Peak[]): BudgetLine | undefined => {
    const results = peaks.map(([id, target, rep, rssPeakMb]) => ({
      ...cell(target, rep, 100),
      cell: id,
      rssPeakMb,
    }));
    const data: RunData = {
      options: parseOptions([], {}),
      names: ['bare', 'llmtap'],
      targets: ['bare', 'llmtap'],
      cells: [],
      results,
      idle: {},
      rssAfterRep: {},
      verify: [],
      streams: [],
      soak: undefined,
      telemetry: {},
      problems: [],
      rerun: [],
      streamTargets: [],
    };
    return budgetLines(data).find((l) => l.metric.startsWith('peak RSS, 64 concurrent'));
  };

  it('reads json-c64 and sse-c64 of the first rep, before the 1 MB bodies leave their memory behind', () => {
    const after: Peak[] = [
      ['large-c16', 'llmtap', 1, 260],
      ['ttft-c64', 'llmtap', 1, 260],
      ['json-c64', 'llmtap', 2, 260],
      ['json-c64', 'bare', 1, 118],
    ];
    const ok = run([['json-c64', 'llmtap', 1, 150], ['sse-c64', 'llmtap', 1, 160], ...after]);
    expect(ok).toMatchObject({ measured: '160 MB (bare 118 MB)', status: 'PASS' });
    const over = run([['json-c64', 'llmtap', 1, 150], ['sse-c64', 'llmtap', 1, 210], ...after]);
    expect(over).toMatchObject({ measured: '210 MB (bare 118 MB)', status: 'FAIL' });
  });
});
