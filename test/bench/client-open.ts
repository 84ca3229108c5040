/**
 * Open-loop generator: requests leave at a fixed arrival rate whatever the target does, and latency is
 * measured from each request's scheduled send time, so a stalled target cannot hide its queue
 * (no coordinated omission). Latency covers the whole body (the whole stream for SSE).
 */
import { Pool } from 'undici';
import { emit, HEADERS, histogram, inputOf, percentilesMs, recordMs, splitUrl } from './client-common.ts';
import { answerFor, type Mode, requestBody } from './payloads.ts';

interface Input {
  url: string;
  mode: Mode;
  rate: number;
  durationMs: number;
  connections: number;
}

const input = inputOf<Input>();
const { origin, path } = splitUrl(input.url);
const pool = new Pool(origin, { connections: input.connections, pipelining: 1, keepAliveTimeout: 60_000 });
const body = requestBody(input.mode);
const expected = answerFor(input.mode);
const latency = histogram();
const total = Math.round((input.rate * input.durationMs) / 1000);
const intervalMs = 1000 / input.rate;
let sent = 0;
let done = 0;
let errors = 0;
let badBodies = 0;
let maxLagMs = 0;

const one = async (scheduled: number): Promise<void> => {
  try {
    const answer = await pool.request({ path, method: 'POST', headers: HEADERS, body });
    let length = 0;
    for await (const chunk of answer.body) length += (chunk as Buffer).length;
    if (answer.statusCode !== expected.status) errors++;
    else if (length !== expected.body.length) badBodies++;
  } catch {
    errors++;
  }
  recordMs(latency, performance.now() - scheduled);
  done++;
};

const started = performance.now();
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const now = performance.now();
    while (sent < total) {
      const scheduled = started + sent * intervalMs;
      if (scheduled > now) break;
      maxLagMs = Math.max(maxLagMs, now - scheduled);
      sent++;
      void one(scheduled).then(() => {
        if (done === total) resolve();
      });
    }
    if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, started + sent * intervalMs - now)));
  };
  tick();
});
const seconds = (performance.now() - started) / 1000;
await pool.close();
emit({
  requests: done,
  seconds,
  rps: done / seconds,
  errors,
  badBodies,
  maxLagMs,
  ...percentilesMs(latency),
});
