/**
 * Open-streams client: opens `count` slow streams at once, reports when every one has its first event,
 * then on the line `abort` from stdin drops them all (client disconnects) and exits.
 */
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { emit, HEADERS, inputOf, splitUrl } from './client-common.ts';
import { requestBody } from './payloads.ts';

interface Input {
  url: string;
  count: number;
  timeoutMs: number;
}

const input = inputOf<Input>();
const { origin, path } = splitUrl(input.url);
const pool = new Pool(origin, { connections: input.count, pipelining: 1, keepAliveTimeout: 60_000 });
const body = requestBody('slow');
const controller = new AbortController();
let opened = 0;
let failed = 0;

const one = (): Promise<void> =>
  new Promise<void>((resolve) => {
    pool
      .request({ path, method: 'POST', headers: HEADERS, body, signal: controller.signal })
      .then((answer) => {
        answer.body.once('data', () => {
          opened++;
          resolve();
        });
        answer.body.on('error', () => undefined);
        answer.body.resume();
      })
      .catch(() => {
        failed++;
        resolve();
      });
  });

const t0 = performance.now();
const all = Promise.all(Array.from({ length: input.count }, one));
await Promise.race([all, new Promise((resolve) => setTimeout(resolve, input.timeoutMs))]);
emit({ opened, failed, openMs: performance.now() - t0 });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === 'abort') break;
}
controller.abort();
await pool.destroy().catch(() => undefined);
emit({ aborted: opened });
process.exit(0);
