/** `llmtap inject` flags and env, validated once. */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InjectorError } from './errors.ts';
import type { SidecarMode } from './mutate.ts';
import { defaultProviders, isSdkProvider, type SdkProvider } from './sdk-env.ts';

export const injectorUsage = `Usage: llmtap inject [flags]

Runs the mutating admission webhook that adds the llmtap sidecar to pods labelled llmtap.io/inject=enabled
(or in namespaces so labelled) and points their LLM SDKs at it. Manifests: deploy/injector.

Flags:
  --listen HOST:PORT           HTTPS listen address (default 0.0.0.0:8443)
  --tls-cert FILE              serving certificate, PEM (default /etc/llmtap-injector/tls/tls.crt)
  --tls-key FILE               its private key, PEM (default /etc/llmtap-injector/tls/tls.key)
  --tls-reload-interval DUR    how often the files are re-read for rotation (default 30s; 0 = never)
  --sidecar-mode MODE          auto (default): native from Kubernetes 1.29 on, as the API server's /version
                               says, else classic (also when the version cannot be read); native (init
                               container with restartPolicy Always); classic (an ordinary container).
                               Every pod's llmtap.io/status annotation records the mode and why
  --kube-api URL               API server for --sidecar-mode=auto (default: https://$KUBERNETES_SERVICE_HOST:
                               $KUBERNETES_SERVICE_PORT)
  --kube-ca FILE               its CA (default /etc/llmtap-injector/kube-ca/ca.crt: the kube-root-ca.crt
                               ConfigMap)
  --sidecar-template FILE      the sidecar definition (default: the bundled
                               deploy/components/llmtap-sidecar/sidecar.yaml)
  --image IMAGE                sidecar image (default: the template's)
  --proxy-url URL              llmtap's data port as apps see it (default http://127.0.0.1:4545)
  --default-providers LIST     SDK base URLs set when a pod has no llmtap.io/providers annotation
                               (default openai,anthropic,gemini; also: azure, bedrock)
  --exclude-namespaces LIST    never inject here (default kube-system,kube-node-lease,kube-public,
                               cert-manager, plus the injector's own namespace from K8S_NAMESPACE_NAME)
  --shutdown-delay DUR         after SIGTERM, keep answering (with /readyz at 503) this long so the
                               Service stops routing here before the server closes (default 5s)
  --log-level LEVEL            debug, info, warn, error (default LLMTAP_LOG_LEVEL or info)
  -h, --help                   this text

Pod annotations: llmtap.io/config (ConfigMap with config.yaml), llmtap.io/providers (e.g. "openai,anthropic"
or "none"), llmtap.io/cpu-request, llmtap.io/memory-request, llmtap.io/cpu-limit, llmtap.io/memory-limit.

What llmtap emits (the sidecar's LLMTAP_MODE), so that no LLM call is counted twice:
  llmtap.io/app-instrumentation: openllmetry-js | openllmetry-python | none
                               what instruments the app itself; picks the mode:
                                 openllmetry-js      metrics (the SDK makes the spans and no metrics)
                                 openllmetry-python  off (traceloop-sdk makes the spans and the metrics)
                                 none                full
  llmtap.io/mode: full | metrics | spans | off
                               set the mode directly (wins over llmtap.io/app-instrumentation):
                                 full     spans + GenAI metrics + cost (apps with no GenAI instrumentation)
                                 metrics  GenAI metrics + cost, no spans (apps whose SDK makes the spans)
                                 spans    spans, no GenAI metrics (apps whose SDK emits the metrics)
                                 off      forward only
  Without either, llmtap runs in full mode.
  llmtap.io/semconv-compat: off | openllmetry | openllmetry-content
                               the sidecar's LLMTAP_SEMCONV_COMPAT: also write OpenLLMetry's legacy span names
  A bad value is logged and ignored; the pod is never refused.
`;

export interface InjectorFlags {
  readonly help: boolean;
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly reloadIntervalMs: number;
  readonly mode: SidecarMode | 'auto';
  readonly kubeApi: string | undefined;
  readonly kubeCaFile: string;
  readonly templateFile: string | undefined;
  readonly image: string | undefined;
  readonly proxyUrl: string;
  readonly defaultProviders: readonly SdkProvider[];
  readonly excludedNamespaces: ReadonlySet<string>;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly shutdownDelayMs: number;
}

const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'expected HOST:PORT')
  .transform((value) => {
    const at = value.lastIndexOf(':');
    return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(at + 1)) };
  })
  .refine((v) => v.port <= 65_535, 'port must be 0-65535');

const durationSchema = z
  .string()
  .regex(/^\d+(ms|s|m)?$/, 'expected a duration like 30s, 500ms or 2m')
  .transform((value) => {
    const match = /^(\d+)(ms|s|m)?$/.exec(value);
    const unit = match?.[2] ?? 's';
    return Number(match?.[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000);
  });

const listSchema = z.string().transform((value) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

const flagsSchema = z.object({
  listen: listenSchema.default({ host: '0.0.0.0', port: 8443 }),
  'tls-cert': z.string().min(1).default('/etc/llmtap-injector/tls/tls.crt'),
  'tls-key': z.string().min(1).default('/etc/llmtap-injector/tls/tls.key'),
  'tls-reload-interval': durationSchema.default(30_000),
  'sidecar-mode': z.enum(['auto', 'native', 'classic']).default('auto'),
  'kube-api': z.url({ protocol: /^https$/ }).optional(),
  'kube-ca': z.string().min(1).default('/etc/llmtap-injector/kube-ca/ca.crt'),
  'sidecar-template': z.string().min(1).optional(),
  image: z.string().min(1).optional(),
  'proxy-url': z
    .url({ protocol: /^http$/ })
    .transform((v) => v.replace(/\/+$/, ''))
    .default('http://127.0.0.1:4545'),
  'default-providers': listSchema
    .refine(
      (list) => list.every(isSdkProvider),
      'unknown provider (known: openai, anthropic, gemini, azure, bedrock)',
    )
    .transform((list) => list as SdkProvider[])
    .default([...defaultProviders]),
  'exclude-namespaces': listSchema.default(['kube-system', 'kube-node-lease', 'kube-public', 'cert-manager']),
  'log-level': z.enum(['debug', 'info', 'warn', 'error']).optional(),
  'shutdown-delay': durationSchema.default(5_000),
  help: z.boolean().default(false),
});

const stringOption = { type: 'string' } as const;

export const parseInjectorFlags = (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): InjectorFlags => {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        listen: stringOption,
        'tls-cert': stringOption,
        'tls-key': stringOption,
        'tls-reload-interval': stringOption,
        'sidecar-mode': stringOption,
        'kube-api': stringOption,
        'kube-ca': stringOption,
        'sidecar-template': stringOption,
        image: stringOption,
        'proxy-url': stringOption,
        'default-providers': stringOption,
        'exclude-namespaces': stringOption,
        'log-level': stringOption,
        'shutdown-delay': stringOption,
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new InjectorError('LLMTAP_INJECTOR_USAGE', (error as Error).message);
  }
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`);
    throw new InjectorError('LLMTAP_INJECTOR_USAGE', `invalid flags:\n${lines.join('\n')}`);
  }
  const f = parsed.data;
  const logLevel = z
    .enum(['debug', 'info', 'warn', 'error'])
    .catch('info')
    .parse(f['log-level'] ?? env.LLMTAP_LOG_LEVEL);
  const excluded = new Set(f['exclude-namespaces']);
  const own = env.K8S_NAMESPACE_NAME;
  if (own !== undefined && own !== '') excluded.add(own);
  return {
    help: f.help,
    host: f.listen.host,
    port: f.listen.port,
    certFile: f['tls-cert'],
    keyFile: f['tls-key'],
    reloadIntervalMs: f['tls-reload-interval'],
    mode: f['sidecar-mode'],
    kubeApi: f['kube-api'],
    kubeCaFile: f['kube-ca'],
    templateFile: f['sidecar-template'],
    image: f.image,
    proxyUrl: f['proxy-url'],
    defaultProviders: f['default-providers'],
    excludedNamespaces: excluded,
    logLevel,
    shutdownDelayMs: f['shutdown-delay'],
  };
};
