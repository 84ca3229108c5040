/**
 * A no-op OTLP/HTTP receiver: answers 200 to every export so the product pays the full cost of exporting
 * without any network beyond loopback. Counts exports per signal so the bench can tell telemetry flowed.
 */
import { createServer, type Server } from 'node:http';

export interface OtlpSink {
  readonly port: number;
  counts(): Record<string, { requests: number; bytes: number }>;
  close(): Promise<void>;
}

// An empty ExportTraceServiceResponse / ExportMetricsServiceResponse is zero bytes of protobuf.
const EMPTY = Buffer.alloc(0);

export const startOtlpSink = (): Promise<OtlpSink> =>
  new Promise((resolve) => {
    const counts: Record<string, { requests: number; bytes: number }> = {};
    const server: Server = createServer((req, res) => {
      const key = req.url ?? '/';
      const entry = counts[key] ?? { requests: 0, bytes: 0 };
      counts[key] = entry;
      entry.requests++;
      req.on('data', (chunk: Buffer) => {
        entry.bytes += chunk.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
        res.end(EMPTY);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        port,
        counts: () => structuredClone(counts),
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
