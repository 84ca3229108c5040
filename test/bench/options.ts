/** Command-line and environment options of `npm run bench`. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { CellSpec } from './cells.ts';
import type { TargetName } from './targets.ts';

export interface Options {
  readonly quick: boolean;
  readonly reps: number;
  /** Closed-loop and TTFT cells; open-loop cells run 1.6× longer for a steadier p99.9. */
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly streams: number;
  readonly soakCalls: number;
  readonly targets: readonly TargetName[] | undefined;
  readonly cells: readonly string[] | undefined;
  readonly cpuProf: boolean;
  /** Run compiled JS (as the image does) instead of the sources through type stripping. */
  readonly built: boolean;
  /** Node flags for every Node proxy (bare and llmtap alike), e.g. the heap bounds the README documents. */
  readonly nodeFlags: readonly string[];
  /** Runtime environment for every Node proxy (bare and llmtap alike), e.g. glibc's `MALLOC_ARENA_MAX`. */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly llmtapLogLevel: string | undefined;
  /** Extra environment for the llmtap targets (`BENCH_LLMTAP_ENV`), e.g. to switch spans off. */
  readonly llmtapEnv: Readonly<Record<string, string>>;
  readonly globalTimeoutMs: number;
}

export const CELLS: readonly CellSpec[] = [
  { id: 'json-c1', kind: 'closed', mode: 'json', connections: 1 },
  { id: 'json-c16', kind: 'closed', mode: 'json', connections: 16 },
  { id: 'json-c64', kind: 'closed', mode: 'json', connections: 64 },
  { id: 'sse-c16', kind: 'closed', mode: 'sse', connections: 16 },
  { id: 'sse-c64', kind: 'closed', mode: 'sse', connections: 64 },
  { id: 'large-c16', kind: 'closed', mode: 'large', connections: 16 },
  { id: 'open-json', kind: 'open', mode: 'json', connections: 128, rate: 1000 },
  { id: 'open-sse', kind: 'open', mode: 'sse', connections: 128, rate: 500 },
  { id: 'ttft-c1', kind: 'ttft', mode: 'ttft', connections: 1 },
  { id: 'ttft-c64', kind: 'ttft', mode: 'ttft', connections: 64 },
  // Streams at 20 ms per event: where a sidecar spends its life (full mode; `--cells=` to pick it). 200, not
  // the 500 of performance.md: with 500 the Node client and the upstream saturate this 2-core box first.
  { id: 'paced-c200', kind: 'ttft', mode: 'paced', connections: 200 },
];

const SIDECAR = new URL('../../deploy/components/llmtap-sidecar/sidecar.yaml', import.meta.url);

export interface DeployedRuntime {
  /** The manifest's `NODE_OPTIONS`. */
  readonly nodeOptions: string | undefined;
  /** Its other literal env vars that tune the runtime, not llmtap (`MALLOC_ARENA_MAX`, …). */
  readonly env: Readonly<Record<string, string>>;
}

/** llmtap's own settings and the pod's identity: what the bench sets itself or must not copy. */
const OWN_ENV = /^(LLMTAP_|OTEL_|K8S_)|^NODE_OPTIONS$/;

/** The runtime settings of a sidecar manifest's llmtap container (exported for the bench's unit test). */
export const runtimeFromManifest = (text: string): DeployedRuntime => {
  const doc = parseYaml(text) as {
    spec?: { template?: { spec?: { initContainers?: Array<{ name?: string; env?: unknown }> } } };
  };
  const container = doc.spec?.template?.spec?.initContainers?.find((c) => c.name === 'llmtap');
  const vars = Array.isArray(container?.env)
    ? (container.env as Array<{ name?: unknown; value?: unknown }>)
    : [];
  const env: Record<string, string> = {};
  let nodeOptions: string | undefined;
  for (const v of vars) {
    if (typeof v.name !== 'string' || typeof v.value !== 'string') continue;
    if (v.name === 'NODE_OPTIONS') nodeOptions = v.value.trim();
    else if (!OWN_ENV.test(v.name)) env[v.name] = v.value;
  }
  return { nodeOptions, env };
};

/**
 * The runtime settings the sidecar manifest gives the container (NODE_OPTIONS and env such as
 * MALLOC_ARENA_MAX), so the bench measures what pods run; bare gets the same settings to stay a fair floor.
 */
export const deployedRuntime = (): DeployedRuntime => {
  try {
    return runtimeFromManifest(readFileSync(SIDECAR, 'utf8'));
  } catch {
    return { nodeOptions: undefined, env: {} };
  }
};

const QUICK_CELLS = [
  'json-c1',
  'json-c64',
  'sse-c64',
  'large-c16',
  'open-json',
  'open-sse',
  'ttft-c1',
  'ttft-c64',
];

const USAGE = `usage: npm run bench -- [--quick] [--reps=N] [--duration=SECONDS] [--streams=N|0] [--soak=CALLS|0]
       [--targets=direct,bare,nginx,llmtap,llmtap-notel] [--cells=json-c64,...] [--cpu-prof] [--built]
env:   BENCH_QUICK=1 (same as --quick), BENCH_NO_WRK=1 / BENCH_NO_NGINX=1 (behave as on a clean CI image), BENCH_NODE_FLAGS="…" (all Node proxies; default: NODE_OPTIONS of deploy/…/sidecar.yaml),
       BENCH_NODE_ENV="MALLOC_ARENA_MAX=2 …" (all Node proxies; default: the runtime env vars of deploy/…/sidecar.yaml; "" for none),
       BENCH_LLMTAP_LOG_LEVEL=info|warn|… (default: llmtap's own default),
       BENCH_LLMTAP_ENV="OTEL_TRACES_EXPORTER=none …" (extra environment for both llmtap targets, to measure a variant)`;

/** `NAME=value NAME2=value2` → record; a word without `=` is a usage error. */
const parseEnvList = (text: string | undefined, what: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const word of (text ?? '').split(/\s+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: expected NAME=value, got ${JSON.stringify(word)}\n${USAGE}`);
    out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
};

/** The value of `--name=value` in `args`. */
export const value = (args: readonly string[], name: string): string | undefined => {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
};

const positive = (text: string | undefined, name: string, zeroOk = false): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk))
    throw new Error(`--${name} must be a positive number\n${USAGE}`);
  return n;
};

const TARGETS: readonly TargetName[] = ['direct', 'bare', 'nginx', 'llmtap', 'llmtap-notel'];

export const parseOptions = (args: readonly string[], env: NodeJS.ProcessEnv): Options => {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const known = [
    '--quick',
    '--cpu-prof',
    '--built',
    '--reps=',
    '--duration=',
    '--streams=',
    '--soak=',
    '--targets=',
    '--cells=',
  ];
  for (const arg of args) {
    if (!known.some((k) => (k.endsWith('=') ? arg.startsWith(k) : arg === k))) {
      throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  const quick = args.includes('--quick') || env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const targets = value(args, 'targets')?.split(',') as TargetName[] | undefined;
  for (const t of targets ?? []) {
    if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}\n${USAGE}`);
  }
  // Quick mode keeps one connection count per scenario plus c=1 latency, to stay near 2 minutes.
  const cells = value(args, 'cells')?.split(',') ?? (quick ? QUICK_CELLS : undefined);
  for (const c of cells ?? []) {
    if (!CELLS.some((cell) => cell.id === c)) throw new Error(`unknown cell ${c}\n${USAGE}`);
  }
  const durationS = positive(value(args, 'duration'), 'duration');
  const deployed = deployedRuntime();
  return {
    quick,
    reps: positive(value(args, 'reps'), 'reps') ?? (quick ? 1 : 3),
    durationMs: durationS !== undefined ? durationS * 1000 : quick ? 1500 : 5000,
    warmupMs: quick ? 1000 : 3000,
    streams: positive(value(args, 'streams'), 'streams', true) ?? (quick ? 500 : 2000),
    soakCalls: positive(value(args, 'soak'), 'soak', true) ?? (quick ? 3000 : 20_000),
    targets,
    cells,
    cpuProf: args.includes('--cpu-prof'),
    built: args.includes('--built') || env.BENCH_BUILT === '1',
    nodeFlags: (env.BENCH_NODE_FLAGS ?? deployed.nodeOptions ?? '').split(/\s+/).filter((f) => f !== ''),
    nodeEnv:
      env.BENCH_NODE_ENV === undefined ? deployed.env : parseEnvList(env.BENCH_NODE_ENV, 'BENCH_NODE_ENV'),
    llmtapLogLevel: env.BENCH_LLMTAP_LOG_LEVEL,
    llmtapEnv: parseEnvList(env.BENCH_LLMTAP_ENV, 'BENCH_LLMTAP_ENV'),
    globalTimeoutMs: quick ? 10 * 60_000 : 50 * 60_000,
  };
};
