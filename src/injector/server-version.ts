/**
 * `--sidecar-mode=auto`: native sidecars need Kubernetes 1.29 (SidecarContainers beta, on by default). On an
 * older cluster the API server drops `restartPolicy: Always` from the init container, and llmtap then runs as an
 * init container that never exits: the pod hangs in Init forever. So the injector asks the API server for its
 * version (`GET /version`, readable without credentials through the default `system:public-info-viewer` role)
 * and injects a native sidecar only from 1.29 on; when the version cannot be read it injects the classic sidecar,
 * which works everywhere. What it chose and why goes into every pod's `llmtap.io/status` annotation.
 * Not detectable here: the SidecarContainers gate turned off on ≥ 1.29, or kubelets older than the API server
 * (allowed version skew); set `--sidecar-mode=classic` for those clusters.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { z } from 'zod';
import type { SidecarMode } from './mutate.ts';

export const nativeSince = { major: 1, minor: 29 } as const;

export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly gitVersion: string;
}

export interface ModeChoice {
  readonly mode: SidecarMode;
  /** Recorded on the pod: `auto: v1.28.4 < 1.29`, `flag`, … */
  readonly reason: string;
  /** Whether the API server's version was read (a refresh that fails keeps the last one that was). */
  readonly detected?: boolean;
}

// `minor` is "29" upstream and "29+" on EKS/GKE; gitVersion like "v1.29.3-eks-adc7111".
const versionSchema = z.looseObject({
  major: z.string().regex(/^\d+\+?$/),
  minor: z.string().regex(/^\d+\+?$/),
  gitVersion: z.string().max(128).default(''),
});

/** The `/version` answer, or undefined when it is not one. */
export const parseServerVersion = (body: unknown): ServerVersion | undefined => {
  const parsed = versionSchema.safeParse(body);
  if (!parsed.success) return undefined;
  return {
    major: Number.parseInt(parsed.data.major, 10),
    minor: Number.parseInt(parsed.data.minor, 10),
    gitVersion: parsed.data.gitVersion,
  };
};

/** Native from 1.29 on; classic below, and classic when the version is unknown (`detail` says why). */
export const modeForVersion = (version: ServerVersion | undefined, detail = 'unknown'): ModeChoice => {
  if (version === undefined) {
    return {
      mode: 'classic',
      reason: `auto: API server version unknown (${detail}); classic is safe everywhere`,
      detected: false,
    };
  }
  const shown = version.gitVersion === '' ? `v${version.major}.${version.minor}` : version.gitVersion;
  const native =
    version.major > nativeSince.major ||
    (version.major === nativeSince.major && version.minor >= nativeSince.minor);
  return native
    ? { mode: 'native', reason: `auto: API server ${shown} >= 1.29`, detected: true }
    : { mode: 'classic', reason: `auto: API server ${shown} < 1.29 (no native sidecars)`, detected: true };
};

export interface VersionSource {
  /** e.g. `https://10.96.0.1:443`; from KUBERNETES_SERVICE_HOST/PORT in a pod. */
  readonly apiUrl: string | undefined;
  /** The cluster CA (the `kube-root-ca.crt` ConfigMap every namespace has). */
  readonly caFile: string;
  readonly timeoutMs: number;
}

/** Asks the API server for its version; resolves with the choice, never rejects. */
export const detectSidecarMode = (source: VersionSource): Promise<ModeChoice> => {
  if (source.apiUrl === undefined) return Promise.resolve(modeForVersion(undefined, 'not in a cluster'));
  let ca: Buffer;
  try {
    ca = readFileSync(source.caFile);
  } catch {
    return Promise.resolve(modeForVersion(undefined, `no cluster CA at ${source.caFile}`));
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (choice: ModeChoice): void => {
      if (settled) return;
      settled = true;
      resolve(choice);
    };
    let url: URL;
    try {
      url = new URL('/version', source.apiUrl);
    } catch {
      done(modeForVersion(undefined, 'bad API server URL'));
      return;
    }
    const req = request(
      url,
      { method: 'GET', ca, timeout: source.timeoutMs, headers: { accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 64 * 1024) chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return done(modeForVersion(undefined, `HTTP ${res.statusCode}`));
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return done(modeForVersion(undefined, 'not JSON'));
          }
          const version = parseServerVersion(body);
          done(modeForVersion(version, 'unexpected /version answer'));
        });
        res.on('error', () => done(modeForVersion(undefined, 'response error')));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      done(modeForVersion(undefined, 'timeout'));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(modeForVersion(undefined, error.code ?? 'request error')),
    );
    req.end();
  });
};

/** The API server URL a pod sees (the `kubernetes` Service's env), or undefined outside a cluster. */
export const inClusterApiUrl = (env: Readonly<Record<string, string | undefined>>): string | undefined => {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (host === undefined || host === '') return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
};
