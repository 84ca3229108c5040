/**
 * Closed-loop load generator used when wrk is not installed: `connections` workers, each sending the next
 * request as soon as the previous answer ended. Checks status and body length on every answer.
 */
import { Pool } from 'undici';
import { emit, HEADERS, histogram, inputOf, percentilesMs, recordMs, splitUrl } from './client-common.ts';
import { answerFor, type Mode, requestBody } from './payloads.ts';

interface Input {
  url: string;
  mode: Mode;
  connections: number;
  durationMs: number;
}

const input = inputOf<Input>();
const { origin, path } = splitUrl(input.url);
const pool = new Pool(origin, { connections: input.connections, pipelining: 1, keepAliveTimeout: 60_000 });
const body = requestBody(input.mode);
const expected = answerFor(input.mode);
const latency = histogram();
let requests = 0;
let errors = 0;
let badBodies = 0;
const started = performance.now();
const deadline = started + input.durationMs;

const worker = async (): Promise<void> => {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    try {
      const answer = await pool.request({ path, method: 'POST', headers: HEADERS, body });
      let length = 0;
      for await (const chunk of answer.body) length += (chunk as Buffer).length;
      if (answer.statusCode !== expected.status) errors++;
      else if (length !== expected.body.length) badBodies++;
    } catch {
      errors++;
    }
    requests++;
    recordMs(latency, performance.now() - t0);
  }
};

await Promise.all(Array.from({ length: input.connections }, worker));
const seconds = (performance.now() - started) / 1000;
await pool.close();
emit({ requests, seconds, rps: requests / seconds, errors, badBodies, ...percentilesMs(latency) });
