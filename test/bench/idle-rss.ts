/**
 * Idle RSS of the image's command and what each module costs resident (#15, target ≤ 64 MB).
 *
 *   npx node test/bench/idle-rss.ts                     # the command: min/median of 5 fresh processes
 *   npx node test/bench/idle-rss.ts --modules --runs=3  # …plus one probe per dependency / llmtap layer
 *
 * The command is built as `npm run build` builds it (scripts/bundle.ts, into results/idle-build) and run as a
 * pod runs it: `node <sidecar NODE_OPTIONS> llmtap.js --config <one openai route>`, OTLP/HTTP to a no-op sink
 * in this process, metric interval 1 s (as the bench's `llmtap` target). RSS is /proc/<pid>/status VmRSS
 * 2 s after /readyz answers; RssAnon (heap, malloc, code space) and RssFile (the node binary's own pages)
 * split it. Fresh processes, strictly one at a time, rounds interleaved across targets; the min is the figure
 * (other tenants only ever add), the spread tells whether the box was quiet.
 *
 * `--modules`: each probe is a small entry bundled the same way (same esbuild options and plugins, its own
 * build) that starts an HTTP server, creates undici's two dispatchers (the forwarding floor llmtap cannot go
 * below), imports one module namespace and compacts the heap once listening, as llmtap does
 * (src/heap-compact.ts); its cost is its RSS minus the floor probe's. Probes overlap (llmtap's layers
 * all import zod), so the column does not add up to the command's figure.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundle } from '../../scripts/bundle.ts';
import { freePorts, waitForHttp } from './net.ts';
import { deployedRuntime } from './options.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { type Started, start, stop } from './procs.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RESULTS = join(REPO, 'test', 'bench', 'results');

/** Dependencies in the start-up graph, and llmtap's own layers (paths from the repository root). */
export const PROBES: readonly string[] = [
  // Not a module: the floor without undici (node + an HTTP server + the compaction), to show what undici costs.
  'no-undici',
  'zod',
  'zod/mini',
  'yaml',
  'http-proxy',
  '@opentelemetry/api',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/otlp-exporter-base',
  '@opentelemetry/otlp-transformer',
  '@opentelemetry/exporter-metrics-otlp-proto',
  'src/config/load.ts',
  'providers/index.ts',
  'src/telemetry/index.ts',
  'src/capture/capture-tap.ts',
  'src/server/proxy-server.ts',
  'src/main.ts',
];

export interface Sample {
  readonly rssKb: number;
  readonly anonKb: number;
  readonly fileKb: number;
}

const statusKb = (pid: number): Sample => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: field('VmRSS'), anonKb: field('RssAnon'), fileKb: field('RssFile') };
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The probe entry for `spec` (undefined: the floor alone), as source text. */
export const probeSource = (spec: string | undefined, fromDir: string): string => {
  const compact = relative(fromDir, join(REPO, 'src', 'heap-compact.ts')).replaceAll('\\', '/');
  // Every probe: listen, compact the heap as llmtap does once serving, then say so.
  const serve = [
    "createServer((_q, s) => s.end()).listen(0, '127.0.0.1', () => {",
    '  compactHeap();',
    "  process.stdout.write('ready\\n');",
    '});',
    '',
  ];
  if (spec === 'no-undici') {
    return [
      "import { createServer } from 'node:http';",
      `import { compactHeap } from '${compact}';`,
      ...serve,
    ].join('\n');
  }
  const target =
    spec === undefined
      ? undefined
      : /^(src|providers)\//.test(spec)
        ? relative(fromDir, join(REPO, spec)).replaceAll('\\', '/')
        : spec;
  return [
    "import { createServer } from 'node:http';",
    "import { Agent, EnvHttpProxyAgent } from 'undici';",
    `import { compactHeap } from '${compact}';`,
    target === undefined ? '' : `import * as probed from '${target}';`,
    `globalThis.__probe = [new Agent(), new EnvHttpProxyAgent(), ${target === undefined ? 'null' : 'probed'}];`,
    ...serve,
  ].join('\n');
};

const probeName = (spec: string | undefined): string =>
  spec === undefined ? 'floor' : spec.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_|_$/g, '');

const waitForLine = (started: Started, line: string, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${started.name}: no "${line}" in ${timeoutMs} ms`)),
      timeoutMs,
    );
    started.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void started.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${started.name} exited: ${started.stderr().slice(-2000)}`));
    });
  });

interface Target {
  readonly name: string;
  /** Starts a fresh process and resolves once it is ready. */
  run(): Promise<Started>;
}

/** `A=1 B=2` → { A: '1', B: '2' }. */
const parsePairs = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );

const commandTarget = (
  cli: string,
  name: string,
  runtimeEnv: Readonly<Record<string, string>>,
  flags: readonly string[],
  sinkPort: number,
  tmp: string,
): Target => ({
  name,
  async run() {
    const [port = 0, adminPort = 0, uiPort = 0] = await freePorts(3);
    const config = join(tmp, `idle-${port}.yaml`);
    writeFileSync(
      config,
      [
        `listen: 127.0.0.1:${port}`,
        `admin: 127.0.0.1:${adminPort}`,
        'routes:',
        '  - prefix: /openai',
        '    provider: openai',
        '    upstream: http://127.0.0.1:9',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...runtimeEnv };
    env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
    env.OTEL_METRIC_EXPORT_INTERVAL = '1000';
    env.LLMTAP_UI_LISTEN = `127.0.0.1:${uiPort}`;
    env.LLMTAP_DRAIN_TIMEOUT = '1s';
    // A variant to compare (as in the bench): BENCH_LLMTAP_ENV="LLMTAP_UI_LISTEN=off …".
    Object.assign(env, parsePairs(process.env.BENCH_LLMTAP_ENV ?? ''));
    const started = start('llmtap', process.execPath, [...flags, cli, '--config', config], {
      env,
      stdout: 'ignore',
    });
    await waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, 20_000, () => true, started);
    return started;
  },
});

const probeTarget = (
  name: string,
  file: string,
  runtimeEnv: Readonly<Record<string, string>>,
  flags: readonly string[],
): Target => ({
  name,
  async run() {
    const env = { PATH: process.env.PATH, ...runtimeEnv };
    const started = start(name, process.execPath, [...flags, file], { env });
    await waitForLine(started, 'ready', 20_000);
    return started;
  },
});

const stats = (values: readonly number[]): { min: number; median: number; max: number } => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? 0,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
};

const mb = (kb: number): string => (kb / 1024).toFixed(1);

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      modules: { type: 'boolean' },
      only: { type: 'string' },
      'settle-ms': { type: 'string' },
      cli: { type: 'string', multiple: true },
    },
    strict: true,
  });
  const runs = Number(values.runs ?? 5);
  const settleMs = Number(values['settle-ms'] ?? 2000);
  const runtime = deployedRuntime();
  const flags = (process.env.BENCH_NODE_FLAGS ?? runtime.nodeOptions ?? '').split(/\s+/).filter((f) => f);
  const runtimeEnv =
    process.env.BENCH_NODE_ENV === undefined ? runtime.env : parsePairs(process.env.BENCH_NODE_ENV);
  const out = join(RESULTS, 'idle-build');
  const probeDir = join(RESULTS, 'idle-probes');
  mkdirSync(probeDir, { recursive: true });

  // --cli FILE (repeatable): measure already built commands (variants side by side) instead of building.
  const clis = values.cli ?? [join(out, 'llmtap.js')];
  if (values.cli === undefined) await bundle(out);
  // A probe of a package that left the production dependencies would fail the build: skip it.
  const production = Object.keys(
    (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
      .dependencies,
  );
  const available = (spec: string): boolean =>
    spec === 'no-undici' ||
    /^(src|providers)\//.test(spec) ||
    production.some((p) => spec === p || spec.startsWith(`${p}/`));
  const probeSpecs: (string | undefined)[] = values.modules
    ? [
        undefined,
        ...PROBES.filter(
          (p) => available(p) && (values.only === undefined || values.only.split(',').includes(p)),
        ),
      ]
    : [];
  // One build per probe: chunks shared between entries would change what each one loads.
  for (const spec of probeSpecs) {
    const file = join(probeDir, `${probeName(spec)}.mjs`);
    writeFileSync(file, probeSource(spec, probeDir));
    await bundle(join(probeDir, probeName(spec)), { probe: relative(REPO, file) });
  }

  const sink = await startOtlpSink();
  const targets: Target[] = clis.map((cli) =>
    commandTarget(
      cli,
      clis.length > 1 ? cli : 'llmtap (image command)',
      runtimeEnv,
      flags,
      sink.port,
      probeDir,
    ),
  );
  for (const spec of probeSpecs)
    targets.push(
      probeTarget(spec ?? 'floor', join(probeDir, probeName(spec), 'probe.js'), runtimeEnv, flags),
    );

  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < runs; round += 1) {
    for (const target of targets) {
      const started = await target.run();
      await sleep(settleMs);
      samples.get(target.name)?.push(statusKb(started.pid));
      await stop(started);
    }
    process.stderr.write(`round ${round + 1}/${runs} done\n`);
  }
  await sink.close();

  const floor = samples.get('floor');
  const floorMin = floor === undefined ? undefined : stats(floor.map((s) => s.rssKb)).min;
  process.stdout.write(
    `idle RSS, ${runs} fresh process(es) each, ${settleMs} ms after ready; Node ${process.version}; flags: ${flags.join(' ') || '(none)'}; env: ${
      Object.entries(runtimeEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    }\n\n`,
  );
  process.stdout.write(
    '| process | RSS MB min · median · max | RssAnon MB (min run) | RssFile MB | over floor MB |\n',
  );
  process.stdout.write('|---|---|---|---|---|\n');
  for (const [name, list] of samples) {
    const rss = stats(list.map((s) => s.rssKb));
    const best = list.find((s) => s.rssKb === rss.min) ?? list[0];
    const over = floorMin === undefined || name === 'floor' ? '' : `+${mb(rss.min - floorMin)}`;
    process.stdout.write(
      `| ${name} | ${mb(rss.min)} · ${mb(rss.median)} · ${mb(rss.max)} | ${mb(best?.anonKb ?? 0)} | ${mb(best?.fileKb ?? 0)} | ${over} |\n`,
    );
  }
}
