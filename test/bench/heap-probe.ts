/**
 * Preloaded (`--import`) into the soak's target process only: answers `GET /` on BENCH_HEAP_PROBE_PORT
 * with the heap after a full GC (`--expose-gc`), the figure that tells a leak from V8 sizing its heap,
 * which RSS alone cannot; and the longest event-loop block since the previous read (monitorEventLoopDelay
 * max, 1 ms resolution: GC pauses, span export encoding, anything synchronous). Never loaded in the timed cells.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const port = Number(process.env.BENCH_HEAP_PROBE_PORT);
const gc = (globalThis as { gc?: () => void }).gc;

if (Number.isInteger(port) && port > 0) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const server = createServer((_req, res) => {
    // Read before the forced GC below, which is itself a block: the monitor is off while it runs (a reset alone
    // would not do: the delay is recorded when the monitor's timer next fires, after this handler), so the next
    // reading holds only the target's own blocks.
    const loopMaxMs = loop.max / 1e6;
    loop.disable();
    gc?.();
    const memory = process.memoryUsage();
    loop.reset();
    loop.enable();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        heapUsed: memory.heapUsed,
        rss: memory.rss,
        external: memory.external,
        gc: gc !== undefined,
        loopMaxMs,
      }),
    );
  });
  server.listen(port, '127.0.0.1');
  // Never keep the product alive on its own.
  server.unref();
}
