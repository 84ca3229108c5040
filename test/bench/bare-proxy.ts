/**
 * The `bare` anchor: the smallest honest Node 24 + undici pass-through (keep-alive pool, bodies streamed
 * through, client disconnect aborts the upstream request). Its cost is the floor llmtap is measured against.
 * Run as its own process: `node bare-proxy.ts '{"upstream":"http://127.0.0.1:PORT","prefix":"/openai"}'`.
 */
import { createServer } from 'node:http';
import { Agent } from 'undici';

const { upstream, prefix } = JSON.parse(process.argv[2] ?? '{}') as { upstream: string; prefix: string };
const agent = new Agent({ keepAliveTimeout: 60_000, connections: null, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'upgrade',
  'proxy-connection',
  'te',
]);

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, (req, res) => {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP.has(name)) headers[name] = value;
  }
  const path = (req.url ?? '/').slice(prefix.length) || '/';
  agent
    .request({
      origin: upstream,
      path,
      method: req.method as 'POST',
      headers,
      body: req,
      signal: controller.signal,
    })
    .then(({ statusCode, headers: upHeaders, body }) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upHeaders)) {
        if (value !== undefined && !HOP.has(name)) out[name] = value;
      }
      res.writeHead(statusCode, out);
      body.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          body.pause();
          res.once('drain', () => body.resume());
        }
      });
      body.once('end', () => res.end());
      body.once('error', () => res.destroy());
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
