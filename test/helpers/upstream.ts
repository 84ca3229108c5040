/**
 * A local fake provider on 127.0.0.1:0 for proxy tests: records every request it receives (headers and exact
 * body bytes) and answers with whatever the test's handler writes.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export type UpstreamHandler = (
  req: ReceivedRequest,
  res: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  readonly server: Server;
  setHandler(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

export const startUpstream = async (handler: UpstreamHandler): Promise<Upstream> => {
  let current = handler;
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      received.push(entry);
      Promise.resolve(current(entry, res, req)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    server,
    setHandler(next) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
};

/** Writes `body` in pieces of `size` bytes, yielding to the event loop between pieces. */
export const writeInPieces = async (res: ServerResponse, body: Buffer, size: number): Promise<void> => {
  for (let offset = 0; offset < body.length; offset += size) {
    res.write(body.subarray(offset, offset + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
};
