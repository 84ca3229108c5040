/**
 * Builds the frozen runtime configuration from, in rising precedence: defaults, the YAML file, env, flags.
 * Every problem is reported with its key path, the bad value and what is allowed; nothing starts on error.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { LlmtapError } from '../errors.ts';
import { bedrockRoute, builtinRoutes } from './builtin-routes.ts';
import {
  configSchema,
  type FileConfig,
  type RouteConfig,
  type SemconvCompat,
  semconvCompatValues,
  type TelemetryMode,
  telemetryModes,
} from './schema.ts';
import { parseYaml } from './yaml.ts';

export interface CliOptions {
  readonly config?: string | undefined;
  readonly listen?: string | undefined;
  readonly admin?: string | undefined;
  readonly ui?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Config extends Omit<FileConfig, 'routes'> {
  /**
   * Built-in routes merged with the file's (a file route with a built-in prefix replaces it), longest prefix first;
   * every route's `mode` is filled in (its own, else the process mode).
   */
  readonly routes: readonly RouteConfig[];
  /** The process mode (`LLMTAP_MODE`, or `off` for `LLMTAP_TELEMETRY=off`); a route's own `mode` wins. */
  readonly mode: TelemetryMode;
  /** False when every route is `off`: forwarding only, no tap, no parsing, no export. */
  readonly telemetry: boolean;
  /** `LLMTAP_SEMCONV_COMPAT`: legacy OpenLLMetry span attributes added next to the semconv ones. */
  readonly semconvCompat: SemconvCompat;
  /** Where the file came from, for the start-up banner. */
  readonly source: string;
}

const describeValue = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown => {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
};

const formatPath = (path: readonly PropertyKey[]): string =>
  path.length === 0
    ? '(top level)'
    : path
        .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
        .join('');

/** One line per issue: `routes[0].upstream: expected an http:// or https:// URL (got "ftp://x")`. */
export const formatIssues = (issues: readonly z.core.$ZodIssue[], input: unknown, origin: string): string =>
  issues
    .map((issue) => {
      const got =
        issue.code === 'unrecognized_keys'
          ? `unknown key(s) ${issue.keys.join(', ')}`
          : `got ${describeValue(valueAt(input, issue.path))}`;
      return `  ${origin} ${formatPath(issue.path)}: ${issue.message} (${got})`;
    })
    .join('\n');

/** An env value from a closed list (trimmed, case-insensitive); a bad one is a problem naming the allowed values. */
const oneOf = <T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
  problems: string[],
): T => {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  problems.push(`  env ${name}: expected one of ${allowed.join(', ')} (got ${describeValue(env[name])})`);
  return fallback;
};

/** `LLMTAP_MODE`; `LLMTAP_TELEMETRY=off` is its older spelling of `off`, and the two must not disagree. */
const processMode = (env: Env, telemetryOff: boolean, problems: string[]): TelemetryMode => {
  const mode = oneOf(env, 'LLMTAP_MODE', telemetryModes, telemetryOff ? 'off' : 'full', problems);
  if (telemetryOff && mode !== 'off') {
    problems.push(
      `  env LLMTAP_TELEMETRY: off (an alias of LLMTAP_MODE=off) contradicts LLMTAP_MODE=${mode}; set only LLMTAP_MODE`,
    );
  }
  return mode;
};

/** Parses `30s`, `500ms`, `2m`, `1h`; a bare number means seconds (as Kubernetes grace periods do). */
export const parseDuration = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match?.[1]) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * factor);
};

const readConfigFile = (path: string): unknown => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LlmtapError(
      'LLMTAP_CONFIG_INVALID',
      `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new LlmtapError(
      'LLMTAP_CONFIG_INVALID',
      `config file ${path} is not valid YAML: ${(error as Error).message}`,
    );
  }
};

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/**
 * Loads and validates the configuration. `knownProviders` are the adapter ids; a route naming another id is an
 * error that lists them.
 */
export const loadConfig = (options: CliOptions, env: Env, knownProviders: readonly string[]): Config => {
  const path = options.config ?? env.LLMTAP_CONFIG;
  const fileInput = path === undefined || path === '' ? {} : readConfigFile(path);
  const origin = path ? `${path}:` : 'config:';
  if (typeof fileInput !== 'object' || fileInput === null || Array.isArray(fileInput)) {
    throw new LlmtapError('LLMTAP_CONFIG_INVALID', `${origin} the config file must be a YAML mapping`);
  }
  const input: Record<string, unknown> = { ...(fileInput as Record<string, unknown>) };
  const overrides: [string, string | undefined][] = [
    ['listen', options.listen ?? env.LLMTAP_LISTEN],
    ['admin', options.admin ?? env.LLMTAP_ADMIN_LISTEN],
    ['logLevel', env.LLMTAP_LOG_LEVEL],
  ];
  for (const [key, value] of overrides) if (value !== undefined && value !== '') input[key] = value;

  const problems: string[] = [];
  if (env.LLMTAP_DRAIN_TIMEOUT !== undefined && env.LLMTAP_DRAIN_TIMEOUT !== '') {
    const drainMs = parseDuration(env.LLMTAP_DRAIN_TIMEOUT);
    if (drainMs === undefined) {
      problems.push(
        `  env LLMTAP_DRAIN_TIMEOUT: expected a duration like 30s, 500ms or 2m (got ${describeValue(env.LLMTAP_DRAIN_TIMEOUT)})`,
      );
    } else {
      const timeouts = typeof input.timeouts === 'object' && input.timeouts !== null ? input.timeouts : {};
      input.timeouts = { ...timeouts, drainMs };
    }
  }
  // The live view: `--ui`/LLMTAP_UI_LISTEN and LLMTAP_UI_CALLS override the file's `ui` mapping.
  const uiListen = options.ui ?? env.LLMTAP_UI_LISTEN;
  const uiCalls = env.LLMTAP_UI_CALLS;
  if ((uiListen !== undefined && uiListen !== '') || (uiCalls !== undefined && uiCalls !== '')) {
    const ui: Record<string, unknown> =
      typeof input.ui === 'object' && input.ui !== null ? { ...(input.ui as Record<string, unknown>) } : {};
    if (uiListen !== undefined && uiListen !== '') ui.listen = uiListen;
    if (uiCalls !== undefined && uiCalls !== '') ui.calls = /^\d+$/.test(uiCalls) ? Number(uiCalls) : uiCalls;
    input.ui = ui;
  }
  const telemetrySwitch = env.LLMTAP_TELEMETRY ?? 'on';
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(telemetrySwitch)) {
    problems.push(`  env LLMTAP_TELEMETRY: expected on or off (got ${describeValue(telemetrySwitch)})`);
  }
  const mode = processMode(env, ['off', 'false', '0'].includes(telemetrySwitch), problems);
  const semconvCompat = oneOf(env, 'LLMTAP_SEMCONV_COMPAT', semconvCompatValues, 'off', problems);

  const parsed = configSchema.safeParse(input);
  if (!parsed.success) problems.push(formatIssues(parsed.error.issues, input, origin));
  // Checked on the raw input too, so that one run reports every problem, not just the schema's.
  const rawRoutes = Array.isArray(input.routes) ? (input.routes as unknown[]) : [];
  const seen = new Set<string>();
  rawRoutes.forEach((route, index) => {
    if (typeof route !== 'object' || route === null) return;
    const { provider, prefix } = route as { provider?: unknown; prefix?: unknown };
    if (typeof provider === 'string' && provider !== '' && !knownProviders.includes(provider)) {
      problems.push(
        `  ${origin} routes[${index}].provider: unknown provider (got ${describeValue(provider)}); known: ${knownProviders.join(', ')}`,
      );
    }
    if (typeof prefix === 'string') {
      if (seen.has(prefix)) {
        problems.push(`  ${origin} routes[${index}].prefix: duplicate prefix (got ${describeValue(prefix)})`);
      }
      seen.add(prefix);
    }
  });
  if (problems.length > 0 || !parsed.success) {
    throw new LlmtapError('LLMTAP_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  }

  const fileRoutes = parsed.data.routes;
  const fileRoutePrefixes = new Set(fileRoutes.map((route) => route.prefix));
  const bedrock = bedrockRoute(env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  const builtins = bedrock === undefined ? builtinRoutes : [...builtinRoutes, bedrock];
  const routes = [...builtins.filter((route) => !fileRoutePrefixes.has(route.prefix)), ...fileRoutes]
    .map((route) => ({ ...route, mode: route.mode ?? mode }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return deepFreeze({
    ...parsed.data,
    routes,
    mode,
    telemetry: routes.some((route) => route.mode !== 'off'),
    semconvCompat,
    source: path ? path : 'built-in defaults',
  });
};
