/** Closed-loop cells with wrk (C, one thread) when it is installed: it saturates the box without being the bottleneck. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Mode, requestBody } from './payloads.ts';
import { runCommandJson } from './procs.ts';

export const findWrk = (): string | undefined => {
  for (const path of ['/usr/bin/wrk', '/usr/local/bin/wrk']) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return path;
    } catch (error) {
      // `wrk -v` exits 1 after printing its version.
      if ((error as { status?: number }).status === 1) return path;
    }
  }
  return undefined;
};

const script = (bodyFile: string): string => `
local f = assert(io.open("${bodyFile}", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-not-a-secret"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;

const scripts = new Map<Mode, string>();

const scriptFor = (tmp: string, mode: Mode): string => {
  let path = scripts.get(mode);
  if (path === undefined) {
    const bodyFile = join(tmp, `body-${mode}.json`);
    writeFileSync(bodyFile, requestBody(mode));
    path = join(tmp, `wrk-${mode}.lua`);
    writeFileSync(path, script(bodyFile));
    scripts.set(mode, path);
  }
  return path;
};

interface WrkOut {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface ClosedResult {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  badBodies: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export const runWrk = async (
  binary: string,
  tmp: string,
  url: string,
  mode: Mode,
  connections: number,
  durationMs: number,
): Promise<ClosedResult> => {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const out = await runCommandJson<WrkOut>(
    'wrk',
    binary,
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', scriptFor(tmp, mode), url],
    (seconds + 20) * 1000,
  );
  const duration = out.durationUs / 1e6;
  return {
    requests: out.requests,
    seconds: duration,
    rps: out.requests / duration,
    errors: out.connect + out.read + out.write + out.status + out.timeout,
    badBodies: 0,
    p50: out.p50 / 1000,
    p99: out.p99 / 1000,
    p999: out.p999 / 1000,
    max: out.max / 1000,
  };
};
