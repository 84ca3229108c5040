/**
 * The admin listener, reachable by kubelet on the pod IP: `GET /healthz` (the process is alive),
 * `GET /readyz` (config loaded, data listener accepting, not draining) and `GET /metrics` (the GenAI metrics as
 * Prometheus text, when telemetry is on). Nothing else.
 */
import { createServer, type Server } from 'node:http';

export interface Readiness {
  ready(): boolean;
  draining(): boolean;
}

export interface AdminOptions {
  /** Prometheus text of the metrics (`GET /metrics`), and its content type. */
  readonly metrics?: { readonly text: () => Promise<string>; readonly contentType: string } | undefined;
}

export const createAdminServer = (readiness: Readiness, options: AdminOptions = {}): Server =>
  createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const send = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, { status: 'method not allowed' });
    } else if (path === '/healthz') {
      send(200, { status: 'ok' });
    } else if (path === '/readyz') {
      if (readiness.draining()) send(503, { status: 'draining' });
      else if (readiness.ready()) send(200, { status: 'ready' });
      else send(503, { status: 'starting' });
    } else if (path === '/metrics' && options.metrics !== undefined) {
      const { metrics } = options;
      metrics.text().then(
        (text) => {
          res.writeHead(200, {
            'content-type': metrics.contentType,
            'content-length': Buffer.byteLength(text),
          });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        () => send(500, { status: 'metrics unavailable' }),
      );
    } else {
      const paths =
        options.metrics === undefined ? ['/healthz', '/readyz'] : ['/healthz', '/readyz', '/metrics'];
      send(404, { status: 'not found', paths });
    }
  });
