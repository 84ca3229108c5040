/** Small loopback helpers: free ports, readiness polling, one-shot requests. */
import { createServer, type Server } from 'node:net';
import { request } from 'undici';
import type { Started } from './procs.ts';

/** `count` distinct free ports: all are held open until every one is known, so none is handed out twice. */
export const freePorts = async (count: number): Promise<number[]> => {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
};

export const freePort = async (): Promise<number> => (await freePorts(1))[0] ?? 0;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `url` until it answers (with 200 when `needOk` says so), failing early when `process` exits.
 * `needOk` returns true when a non-200 answer should keep the poll going.
 */
export const waitForHttp = async (
  url: string,
  timeoutMs: number,
  needOk: () => boolean,
  process?: Started,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void process?.exited.then(() => {
    exited = true;
  });
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${process?.name} exited while starting\n${process?.stderr().slice(-3000)}`);
    try {
      const answer = await request(url, { method: 'GET', headersTimeout: 1000, bodyTimeout: 1000 });
      await answer.body.dump();
      if (answer.statusCode === 200 || !needOk()) return;
      last = `HTTP ${answer.statusCode}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new Error(
    `${url} not ready within ${timeoutMs} ms (${last})\n${process?.stderr().slice(-3000) ?? ''}`,
  );
};

export const getJson = async <T>(url: string): Promise<T> => {
  const answer = await request(url, { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
  return (await answer.body.json()) as T;
};

export interface Fetched {
  readonly status: number;
  readonly body: Buffer;
}

/** One POST, whole body collected (correctness checks, not timing). */
export const post = async (url: string, body: Buffer): Promise<Fetched> => {
  const answer = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-not-a-secret' },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  return { status: answer.statusCode, body: Buffer.from(await answer.body.arrayBuffer()) };
};
