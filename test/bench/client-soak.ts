/**
 * Soak client: a bounded number of calls mixing JSON, SSE, upstream 4xx/5xx and client aborts mid-stream,
 * `concurrency` at a time. Every completed answer is compared byte for byte with what the upstream sent.
 */
import { Pool } from 'undici';
import { emit, HEADERS, inputOf, splitUrl } from './client-common.ts';
import { answerFor, type Mode, requestBody } from './payloads.ts';

interface Input {
  url: string;
  calls: number;
  concurrency: number;
  timeoutMs: number;
}

type Kind = Mode | 'abort';
// Ten slots: 4 JSON, 3 SSE, 1 × 400, 1 × 500, 1 aborted paced stream.
const MIX: readonly Kind[] = ['json', 'sse', 'json', 'e400', 'sse', 'json', 'abort', 'sse', 'e500', 'json'];

const input = inputOf<Input>();
const { origin, path } = splitUrl(input.url);
const pool = new Pool(origin, { connections: input.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
const counts: Record<string, number> = {};
let errors = 0;
let badBodies = 0;
let next = 0;
const deadline = performance.now() + input.timeoutMs;

const call = async (kind: Kind): Promise<void> => {
  const mode: Mode = kind === 'abort' ? 'ttft' : kind;
  const expected = answerFor(mode);
  const controller = new AbortController();
  try {
    const answer = await pool.request({
      path,
      method: 'POST',
      headers: HEADERS,
      body: requestBody(mode),
      signal: controller.signal,
    });
    if (kind === 'abort') {
      await new Promise<void>((resolve) => {
        answer.body.once('data', () => resolve());
        answer.body.once('error', () => resolve());
        answer.body.once('end', () => resolve());
      });
      controller.abort();
      answer.body.on('error', () => undefined);
      counts.abort = (counts.abort ?? 0) + 1;
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(chunk as Buffer);
    if (answer.statusCode !== expected.status) errors++;
    else if (!Buffer.concat(chunks).equals(expected.body)) badBodies++;
    counts[kind] = (counts[kind] ?? 0) + 1;
  } catch {
    if (kind !== 'abort') errors++;
  }
};

const worker = async (): Promise<void> => {
  while (next < input.calls && performance.now() < deadline) {
    const kind = MIX[next++ % MIX.length] ?? 'json';
    await call(kind);
  }
};

const t0 = performance.now();
await Promise.all(Array.from({ length: input.concurrency }, worker));
await pool.close();
emit({ calls: next, seconds: (performance.now() - t0) / 1000, errors, badBodies, counts });
