/**
 * Time-to-first-token client (also the paced-streams cell): `concurrency` workers (starts staggered over one stream period) each run
 * paced SSE streams back to back and record the time to the first body byte and to the end of the stream.
 */
import { Pool } from 'undici';
import { emit, HEADERS, histogram, inputOf, percentilesMs, recordMs, splitUrl } from './client-common.ts';
import { answerFor, requestBody } from './payloads.ts';

interface Input {
  url: string;
  /** A paced stream mode: `ttft` (5 ms) or `paced` (20 ms). */
  mode?: 'ttft' | 'paced';
  concurrency: number;
  durationMs: number;
}

const input = inputOf<Input>();
const { origin, path } = splitUrl(input.url);
const pool = new Pool(origin, { connections: input.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
const body = requestBody(input.mode ?? 'ttft');
const expected = answerFor(input.mode ?? 'ttft');
const ttft = histogram();
const full = histogram();
let streams = 0;
let errors = 0;
let badBodies = 0;
const started = performance.now();
const deadline = started + input.durationMs;
const period = expected.parts.length * expected.intervalMs;

const worker = async (index: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, (index * period) / input.concurrency));
  while (performance.now() < deadline) {
    const t0 = performance.now();
    try {
      const answer = await pool.request({ path, method: 'POST', headers: HEADERS, body });
      let length = 0;
      for await (const chunk of answer.body) {
        if (length === 0) recordMs(ttft, performance.now() - t0);
        length += (chunk as Buffer).length;
      }
      recordMs(full, performance.now() - t0);
      if (answer.statusCode !== 200) errors++;
      else if (length !== expected.body.length) badBodies++;
    } catch {
      errors++;
    }
    streams++;
  }
};

await Promise.all(Array.from({ length: input.concurrency }, (_, i) => worker(i)));
const seconds = (performance.now() - started) / 1000;
await pool.close();
const t = percentilesMs(ttft);
const f = percentilesMs(full);
emit({
  requests: streams,
  seconds,
  rps: streams / seconds,
  errors,
  badBodies,
  p50: t.p50,
  p99: t.p99,
  p999: t.p999,
  max: t.max,
  fullP50: f.p50,
  fullP99: f.p99,
});
