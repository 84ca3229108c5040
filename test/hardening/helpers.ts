/**
 * Shared tools for the hardening suites: a raw-socket HTTP client (for bytes no well-behaved client would send),
 * an upstream that counts every connection and every request start (not only completed requests), and a
 * bounded poller.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RawExchange {
  /** Every byte the server sent before closing (or before the deadline). */
  readonly bytes: Buffer;
  readonly text: string;
  /** True when the server closed the connection (FIN or reset) before the deadline. */
  readonly closed: boolean;
  /** How the connection ended: 'end' (FIN), 'reset' (error), 'timeout' (still open at the deadline). */
  readonly ending: 'end' | 'reset' | 'timeout';
  /** The status of the first response, or undefined when none was sent. */
  readonly status: number | undefined;
}

/**
 * Writes `parts` on a fresh TCP connection (each part a separate write, `gapMs` apart) and collects the answer
 * until the server closes or `timeoutMs` passes.
 */
export const rawExchange = async (
  port: number,
  parts: readonly (string | Buffer)[],
  options: { timeoutMs?: number; gapMs?: number; host?: string; endAfterWrite?: boolean } = {},
): Promise<RawExchange> => {
  const socket = connect(port, options.host ?? '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<'end' | 'reset'>((resolve) => {
    socket.once('end', () => resolve('end'));
    socket.once('error', () => resolve('reset'));
    socket.once('close', () => resolve('end'));
  });
  await once(socket, 'connect');
  const writing = (async () => {
    for (const part of parts) {
      if (socket.destroyed) return;
      socket.write(part);
      if ((options.gapMs ?? 0) > 0) await sleep(options.gapMs ?? 0);
    }
    if (options.endAfterWrite === true && !socket.destroyed) socket.end();
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 3000);
  });
  const ending = await Promise.race([ended, deadline]);
  clearTimeout(timer);
  await writing.catch(() => undefined);
  socket.destroy();
  const bytes = Buffer.concat(chunks);
  const text = bytes.toString('latin1');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return { bytes, text, closed: ending !== 'timeout', ending, status: match ? Number(match[1]) : undefined };
};

/** The JSON error body of a raw response, or undefined when the body is not llmtap's error shape. */
export const errorCodeOf = (text: string): string | undefined => {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
};

export interface CountingUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** TCP connections accepted. */
  connections(): number;
  /** TCP connections currently open. */
  openConnections(): number;
  /** Requests whose head arrived (counted before the body is read). */
  requestStarts(): number;
  /** Requests whose body arrived completely, with their bytes. */
  readonly completed: {
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    rawHeaders: string[];
    body: Buffer;
  }[];
  setHandler(
    handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>,
  ): void;
  close(): Promise<void>;
}

/** An upstream that counts at every level, so "zero upstream requests" means no connection at all. */
export const startCountingUpstream = async (
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void> = (
    _req,
    res,
  ) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  },
): Promise<CountingUpstream> => {
  let current = handler;
  let connections = 0;
  let starts = 0;
  const completed: CountingUpstream['completed'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    starts += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      completed.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      Promise.resolve(current(req, res, body)).catch(() => res.destroy());
    });
    req.on('error', () => undefined);
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    connections: () => connections,
    openConnections: () => sockets.size,
    requestStarts: () => starts,
    completed,
    setHandler(next) {
      current = next;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
};

/**
 * A deadline is only ever reached by a failing test, so none is shorter than this: on a loaded machine (CI beside
 * other suites, CPU hogs) a signal that takes 50 ms alone can take seconds.
 */
const minWaitMs = 15_000;

/**
 * Polls `predicate` every 10 ms until it holds or the deadline passes (`timeoutMs`, at least 15 s); returns
 * whether it held. For positive signals only: never to wait out a time before asserting that nothing happened.
 */
export const waitUntil = async (predicate: () => boolean, timeoutMs = minWaitMs): Promise<boolean> => {
  const deadline = Date.now() + Math.max(timeoutMs, minWaitMs);
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
};

export const portOf = (url: string): number => Number(new URL(url).port);

export interface CliRun {
  readonly child: import('node:child_process').ChildProcess;
  readonly dataUrl: string;
  readonly adminUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name when killed). */
  readonly exited: Promise<number | string>;
}

const cliPath = new URL('../../src/cli.ts', import.meta.url).pathname;

/**
 * Starts the real `llmtap` command as a child process on 127.0.0.1:0 and waits for its banner. The caller
 * must `kill` it (SIGTERM in the tests, SIGKILL in cleanup).
 */
export const launchCli = async (
  configYaml: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<CliRun> => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const path = join(mkdtempSync(join(tmpdir(), 'llmtap-hardening-')), 'llmtap.yaml');
  writeFileSync(path, configYaml);
  const child = spawn(
    process.execPath,
    [...nodeArgs, cliPath, '--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const started = await waitUntil(() => /admin\s+http:\S+/.test(err) || child.exitCode !== null, 45_000);
  const dataUrl = /data plane\s+(http:\S+)/.exec(err)?.[1];
  const adminUrl = /admin\s+(http:\S+)/.exec(err)?.[1];
  if (!started || dataUrl === undefined || adminUrl === undefined) {
    child.kill('SIGKILL');
    throw new Error(`llmtap did not start:\n${err}\n${out}`);
  }
  return { child, dataUrl, adminUrl, stdout: () => out, stderr: () => err, exited };
};
