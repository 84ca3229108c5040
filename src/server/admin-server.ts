/**
 * The admin listener, reachable by kubelet on the pod IP: `GET /healthz` (the process is alive) and
 * `GET /readyz` (config loaded, data listener accepting, not draining). Nothing else.
 */
import { createServer, type Server } from 'node:http';

export interface Readiness {
  ready(): boolean;
  draining(): boolean;
}

export const createAdminServer = (readiness: Readiness): Server =>
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
    } else {
      send(404, { status: 'not found', paths: ['/healthz', '/readyz'] });
    }
  });
