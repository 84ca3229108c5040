/**
 * Preloaded (`--import`) into the soak's target process only: answers `GET /` on BENCH_HEAP_PROBE_PORT
 * with the heap after a full GC (`--expose-gc`), the figure that tells a leak from V8 sizing its heap,
 * which RSS alone cannot. Never loaded in the timed cells.
 */
import { createServer } from 'node:http';

const port = Number(process.env.BENCH_HEAP_PROBE_PORT);
const gc = (globalThis as { gc?: () => void }).gc;

if (Number.isInteger(port) && port > 0) {
  const server = createServer((_req, res) => {
    gc?.();
    const memory = process.memoryUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        heapUsed: memory.heapUsed,
        rss: memory.rss,
        external: memory.external,
        gc: gc !== undefined,
      }),
    );
  });
  server.listen(port, '127.0.0.1');
  // Never keep the product alive on its own.
  server.unref();
}
