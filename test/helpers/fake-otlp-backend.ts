/**
 * A loopback stand-in for the guide's backend (a Dynatrace-style OTLP API), behaving as its documentation says:
 * - only `POST /api/v2/otlp/v1/{traces,metrics,logs}` (404 elsewhere; no gRPC);
 * - only `Authorization: Api-Token <token>` (401 otherwise);
 * - only `http/protobuf` (`content-type: application/x-protobuf`, 415 otherwise), gzip or not;
 * - metrics: delta only. A cumulative monotonic sum or a cumulative histogram is rejected and counted as
 *   rejected, as the real ingest drops it (`UNSUPPORTED_METRIC_TYPE_MONOTONIC_CUMULATIVE_SUM`); a request whose
 *   points were all rejected gets 400.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  decodeLogs,
  decodeMetrics,
  decodeSpans,
  type ReceivedLogRecord,
  type ReceivedMetric,
  type ReceivedSpan,
} from './otlp-receiver.ts';

export interface BackendResponse {
  readonly path: string;
  readonly status: number;
  readonly authorization: string | undefined;
}

export interface FakeOtlpBackend {
  /** `http://127.0.0.1:<port>/api/v2/otlp`: what OTEL_EXPORTER_OTLP_ENDPOINT / DT_ENDPOINT is set to. */
  readonly endpoint: string;
  readonly token: string;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLogRecord[];
  readonly responses: BackendResponse[];
  /** Data points refused, by reason. */
  readonly rejected: Record<string, number>;
  rejectedPoints(): number;
  acceptedPoints(): number;
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

const signals = new Set(['traces', 'metrics', 'logs']);

export const startFakeOtlpBackend = async (token: string): Promise<FakeOtlpBackend> => {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const logs: ReceivedLogRecord[] = [];
  const responses: BackendResponse[] = [];
  const rejected: Record<string, number> = {};
  let accepted = 0;
  let metricExports = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      const authorization = req.headers.authorization;
      const answer = (status: number): void => {
        responses.push({ path, status, authorization });
        res.writeHead(status, { 'content-type': 'application/x-protobuf' });
        res.end();
      };
      const match = /^\/api\/v2\/otlp\/v1\/([a-z]+)$/.exec(path);
      if (req.method !== 'POST' || match === null || !signals.has(match[1] ?? '')) return answer(404);
      if (authorization !== `Api-Token ${token}`) return answer(401);
      if (req.headers['content-type'] !== 'application/x-protobuf') return answer(415);
      let body: Buffer;
      try {
        const wire = Buffer.concat(chunks);
        body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
      } catch {
        return answer(400);
      }
      const signal = match[1];
      if (signal === 'traces') spans.push(...decodeSpans(body));
      if (signal === 'logs') logs.push(...decodeLogs(body));
      if (signal === 'metrics') {
        let refused = 0;
        let total = 0;
        for (const metric of decodeMetrics(body, metricExports++)) {
          total += metric.points.length;
          const cumulative = metric.temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
          const reason =
            cumulative && metric.type === 'sum' && metric.monotonic === true
              ? 'UNSUPPORTED_METRIC_TYPE_MONOTONIC_CUMULATIVE_SUM'
              : cumulative && metric.type === 'histogram'
                ? 'UNSUPPORTED_METRIC_TYPE_CUMULATIVE_HISTOGRAM'
                : undefined;
          if (reason === undefined) {
            metrics.push(metric);
            accepted += metric.points.length;
          } else {
            rejected[reason] = (rejected[reason] ?? 0) + metric.points.length;
            refused += metric.points.length;
          }
        }
        if (total > 0 && refused === total) return answer(400);
      }
      answer(200);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/api/v2/otlp`,
    token,
    spans,
    metrics,
    logs,
    responses,
    rejected,
    rejectedPoints: () => Object.values(rejected).reduce((a, b) => a + b, 0),
    acceptedPoints: () => accepted,
    async waitFor(predicate, timeoutMs = 5000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`fake backend: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
};
