/**
 * Turns the bounded copy of a request body into the value handed to `adapter.parseRequest`: decoded by the
 * request's `content-encoding` (some clients compress request bodies, e.g. zstd on `/v1/responses`), then
 * `JSON.parse`d. Never throws: anything unreadable becomes `undefined`, which adapters handle.
 *
 * The request copy is already capped at `maxFrameBytes`, and decompression is capped at the same size
 * (`maxOutputLength`), so this synchronous work is bounded and runs once per call after the body was sent.
 * Without content capture, a large body is skimmed rather than parsed (see json-skim.ts): its large
 * top-level members (the conversation) are left out, as no request fact comes from them.
 */
import zlib from 'node:zlib';
import { startsWithBom } from '../framing/bytes.ts';
import { codecFor } from './content-decoding.ts';
import { skimJsonObject } from './json-skim.ts';

/** Bodies up to this size are parsed whole: below it, skimming saves nothing worth its difference. */
const SKIM_ABOVE_BYTES = 64 * 1024;
/** Top-level members larger than this are left out of a skimmed body. */
export const SKIM_MEMBER_BYTES = 64 * 1024;

export interface RequestBodyResult {
  readonly body: unknown;
  /** The body could not be read whole (decompression cap, corrupt or unsupported encoding). */
  readonly truncated: boolean;
}

const decompress = (bytes: Buffer, codec: 'gzip' | 'deflate' | 'br' | 'zstd', max: number): Buffer => {
  const options = { maxOutputLength: Math.max(max, 1) };
  switch (codec) {
    case 'gzip':
      return zlib.gunzipSync(bytes, options);
    case 'deflate':
      return zlib.inflateSync(bytes, options);
    case 'br':
      return zlib.brotliDecompressSync(bytes, options);
    case 'zstd':
      return zlib.zstdDecompressSync(bytes, options);
  }
};

export const readRequestBody = (
  bytes: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
  wholeBody: boolean,
): RequestBodyResult => {
  if (bytes.length === 0) return { body: undefined, truncated: false };
  const codec = codecFor(contentEncoding);
  if (codec === undefined) return { body: undefined, truncated: true };
  let plain = bytes;
  if (codec !== 'identity') {
    try {
      plain = decompress(bytes, codec, maxBytes);
    } catch {
      return { body: undefined, truncated: true };
    }
  }
  const start = startsWithBom(plain, 0, plain.length) ? 3 : 0;
  if (!wholeBody && plain.length - start > SKIM_ABOVE_BYTES) {
    return { body: skimJsonObject(plain.subarray(start), SKIM_MEMBER_BYTES), truncated: false };
  }
  try {
    return { body: JSON.parse(plain.toString('utf8', start)), truncated: false };
  } catch {
    return { body: undefined, truncated: false };
  }
};
