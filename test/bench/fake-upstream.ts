/**
 * The fake LLM provider (run as its own process): answers from pre-built buffers so it stays cheaper than
 * any proxy under test, and counts open streams so the bench can see upstream requests a proxy failed to
 * cancel. `GET /_bench/stats` reports the counters.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { answerFor, MODES, type Mode, modeOf } from './payloads.ts';

let open = 0;
let requests = 0;
let aborted = 0;

const headersFor = (mode: Mode): (string | number)[] => {
  const answer = answerFor(mode);
  return answer.intervalMs > 0 || answer.contentType === 'text/event-stream'
    ? ['content-type', answer.contentType, 'cache-control', 'no-cache', 'x-request-id', 'req_bench']
    : ['content-type', answer.contentType, 'content-length', answer.body.length, 'x-request-id', 'req_bench'];
};
const HEADERS = new Map<Mode, (string | number)[]>(MODES.map((mode) => [mode, headersFor(mode)]));

const respond = (mode: Mode, res: ServerResponse): void => {
  const answer = answerFor(mode);
  res.writeHead(answer.status, HEADERS.get(mode));
  if (answer.intervalMs === 0) {
    res.end(answer.parts[0]);
    return;
  }
  open++;
  res.flushHeaders();
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    open--;
  };
  res.once('close', () => {
    if (timer !== undefined) clearTimeout(timer);
    if (!res.writableFinished) aborted++;
    finish();
  });
  const tick = (): void => {
    const part = answer.parts[next++];
    if (part === undefined || res.destroyed) return;
    if (next === answer.parts.length) {
      res.end(part);
      return;
    }
    res.write(part);
    timer = setTimeout(tick, answer.intervalMs);
  };
  timer = setTimeout(tick, answer.intervalMs);
};

const handle = (req: IncomingMessage, res: ServerResponse): void => {
  if (req.method === 'GET' && req.url === '/_bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ open, requests, aborted }));
    return;
  }
  requests++;
  let mode: Mode | undefined;
  req.on('data', (chunk: Buffer) => {
    mode ??= modeOf(chunk);
  });
  req.on('end', () => respond(mode ?? 'json', res));
};

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0, headersTimeout: 60_000 }, handle);
server.maxRequestsPerSocket = 0;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
