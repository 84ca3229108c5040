/**
 * The HTTPS endpoint the API server calls: POST /mutate and GET /healthz. Certificate and key come from
 * files (a cert-manager Secret volume) and are re-read on an interval; a changed pair is swapped in with
 * `setSecureContext` without dropping connections, and a broken pair is refused (the old one stays).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import { InjectorError } from './errors.ts';
import type { HandledReview } from './handler.ts';

export interface InjectorServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** 0 disables the periodic re-read (tests call `reloadTls()` themselves). */
  readonly reloadIntervalMs: number;
  /** Bodies over this get `allowed: true` unread (the API server's own limit is ~3 MiB). */
  readonly maxBodyBytes: number;
  readonly review: (body: Buffer | undefined) => HandledReview;
  readonly logger: Logger;
}

export interface InjectorServer {
  readonly address: AddressInfo;
  /** Re-reads the files; true when a new pair was installed. Throws when the new pair is unusable. */
  reloadTls(): Promise<boolean>;
  /** From now on /readyz answers 503 so the Service stops sending reviews; /mutate keeps working. */
  setDraining(): void;
  /** Stops accepting, lets in-flight reviews finish (at most `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

const readPair = async (certFile: string, keyFile: string): Promise<{ cert: Buffer; key: Buffer }> => {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  // Throws on a malformed or mismatched pair, before it can replace a working one.
  createSecureContext({ cert, key });
  return { cert, key };
};

export const startInjectorServer = async (options: InjectorServerOptions): Promise<InjectorServer> => {
  const { logger } = options;
  let pair: { cert: Buffer; key: Buffer };
  try {
    pair = await readPair(options.certFile, options.keyFile);
  } catch (error) {
    throw new InjectorError(
      'LLMTAP_INJECTOR_TLS',
      `cannot load TLS certificate/key: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }

  let draining = false;
  const server: Server = createServer({
    ...pair,
    minVersion: 'TLSv1.2',
    // The API server sends one small request per review; anything slow is not the API server.
    requestTimeout: 10_000,
    headersTimeout: 5_000,
    keepAliveTimeout: 30_000,
  });

  server.on('request', (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      if (draining) res.writeHead(503, { 'content-type': 'text/plain' }).end('draining\n');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/mutate') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        // Keep draining (bounded by requestTimeout) so the caller reads a clean response, not a reset.
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      res.destroy();
    });
    req.on('end', () => {
      let handled: HandledReview;
      try {
        handled = options.review(tooLarge ? undefined : Buffer.concat(chunks));
      } catch (error) {
        // review() does not throw by contract; this is the last line of defence.
        handled = {
          body: {
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: '', allowed: true },
          },
          level: 'error',
          fields: { decision: 'error', error },
        };
      }
      logger[handled.level](
        'admission review',
        tooLarge ? { ...handled.fields, bytes: size } : handled.fields,
      );
      const body = JSON.stringify(handled.body);
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        .end(body);
    });
  });
  server.on('tlsClientError', (error) => {
    logger.warnRateLimited('tls-client-error', 'TLS handshake failed', { error });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new InjectorError(
      'LLMTAP_INJECTOR_LISTEN',
      `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }

  const reloadTls = async (): Promise<boolean> => {
    const next = await readPair(options.certFile, options.keyFile);
    if (next.cert.equals(pair.cert) && next.key.equals(pair.key)) return false;
    server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
    pair = next;
    logger.info('TLS certificate reloaded', { certFile: options.certFile });
    return true;
  };

  const timer =
    options.reloadIntervalMs > 0
      ? setInterval(() => {
          reloadTls().catch((error: unknown) => {
            // A read can straddle the kubelet's swap of the Secret volume: a mismatched pair fails once, then works.
            logger.warnRateLimited('tls-reload', 'TLS reload failed; keeping the current certificate', {
              error,
            });
          });
        }, options.reloadIntervalMs)
      : undefined;
  timer?.unref();

  return {
    address: server.address() as AddressInfo,
    reloadTls,
    setDraining: () => {
      draining = true;
    },
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        if (timer !== undefined) clearInterval(timer);
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
};
