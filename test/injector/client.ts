/** An HTTPS client that trusts only the test CA and checks the webhook's name, as the API server does. */
import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { webhookHost } from './tls.ts';

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly peer: PeerCertificate;
}

export const call = (
  port: number,
  ca: Buffer,
  options: { method?: string; path?: string; body?: string | Buffer } = {},
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: webhookHost,
        ca,
        method: options.method ?? 'POST',
        path: options.path ?? '/mutate?timeout=5s',
        headers: { 'content-type': 'application/json' },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), peer }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
