/**
 * Reading request bodies ahead of dispatch: whole when their length is known and small (one upstream write, and
 * usage injection needs the whole body), or a bounded prefix of a chunked body (bad chunked encoding is then
 * refused before any upstream request starts).
 */
import type { IncomingMessage } from 'node:http';

/** Reads a request body whole (the caller checked its declared length). Resolves undefined if the client left. */
export const readBody = (req: IncomingMessage, expected: number): Promise<Buffer | undefined> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    // `on`, not `once`: each fires at most once here and a promise settles once, so once-wrappers are waste.
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => {
      if (!req.complete) resolve(undefined);
    });
    if (expected === 0) req.resume();
  });

/**
 * Reads a chunked request body of unknown length up to `cap` bytes. A body that ends within the cap is
 * returned whole (`complete`), so a malformed chunk in it is rejected by the parser before anything reaches
 * the upstream; a longer one returns its first chunks with the request paused (`prefix`), to be streamed.
 * Resolves undefined if the client left or the chunked encoding was bad.
 */
export const readChunkedPrefix = (
  req: IncomingMessage,
  cap: number,
): Promise<{ complete: Buffer } | { prefix: Buffer[] } | undefined> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const settle = (value: { complete: Buffer } | { prefix: Buffer[] } | undefined): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > cap) {
        req.pause();
        settle({ prefix: chunks });
      }
    };
    req.on('data', onData);
    req.once('end', () => settle({ complete: Buffer.concat(chunks, length) }));
    req.once('error', () => settle(undefined));
    req.once('close', () => {
      if (!req.complete) settle(undefined);
    });
  });

/** The already-read prefix, then the rest of the request as it arrives (backpressure through the iterator). */
export async function* prefixThenRest(
  prefix: readonly Buffer[],
  req: IncomingMessage,
): AsyncGenerator<Buffer> {
  yield* prefix;
  for await (const chunk of req) yield chunk as Buffer;
}
