/**
 * Turns the bounded copy of a request body into the value handed to `adapter.parseRequest`: decoded by the
 * request's `content-encoding` (some clients compress request bodies, e.g. zstd on `/v1/responses`), then
 * `JSON.parse`d. Never throws: anything unreadable becomes `undefined`, which adapters handle.
 *
 * The request copy is already capped at `maxFrameBytes`, and decompression is capped at the same size
 * (`maxOutputLength`), so this synchronous work is bounded and runs once per call after the body was sent.
 * Without content capture, a large body is skimmed rather than parsed (see framing/json-skim.ts): its large
 * top-level members (the conversation) are left out, as no request fact comes from them. A body cut by the
 * copy limit is skimmed as a prefix, so members sent before the cut (often `model`) are still known.
 */
import zlib from 'node:zlib';
import { startsWithBom } from '../framing/bytes.ts';
import { SMALL_MEMBER_BYTES } from '../framing/json-members.ts';
import { skimJsonObject } from '../framing/json-skim.ts';
import { codecsFor } from './content-decoding.ts';

/** Bodies up to this size are parsed whole: below it, skimming saves nothing worth its difference. */
const SKIM_ABOVE_BYTES = 64 * 1024;
/** Top-level members larger than this are left out of a skimmed body. */
export const SKIM_MEMBER_BYTES = SMALL_MEMBER_BYTES;

export interface RequestBodyResult {
  readonly body: unknown;
  /** The body could not be read whole (decompression cap, corrupt or unsupported encoding). */
  readonly truncated: boolean;
}

type Codec = 'gzip' | 'deflate' | 'br' | 'zstd';

/** Decompresses; a cut prefix is flushed for what it holds instead of failing on the missing end. */
const decompress = (bytes: Buffer, codec: Codec, max: number, prefix: boolean): Buffer => {
  const maxOutputLength = Math.max(max, 1);
  switch (codec) {
    case 'gzip':
      return zlib.gunzipSync(bytes, {
        maxOutputLength,
        ...(prefix ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}),
      });
    case 'deflate':
      return zlib.inflateSync(bytes, {
        maxOutputLength,
        ...(prefix ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}),
      });
    case 'br':
      return zlib.brotliDecompressSync(bytes, {
        maxOutputLength,
        ...(prefix ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {}),
      });
    case 'zstd':
      return zlib.zstdDecompressSync(bytes, {
        maxOutputLength,
        ...(prefix ? { finishFlush: zlib.constants.ZSTD_e_flush } : {}),
      });
  }
};

export interface ReadRequestOptions {
  /** The request's `content-encoding` header. */
  readonly contentEncoding: string | undefined;
  /** Cap on decompressed bytes. */
  readonly maxBytes: number;
  /** Parse everything (content capture needs the conversation); else large bodies are skimmed. */
  readonly wholeBody: boolean;
  /** `bytes` is only the start of the body (the copy limit cut it): read the members complete in it. */
  readonly prefix: boolean;
}

export const readRequestBody = (bytes: Buffer, options: ReadRequestOptions): RequestBodyResult => {
  if (bytes.length === 0) return { body: undefined, truncated: options.prefix };
  const codecs = codecsFor(options.contentEncoding);
  if (codecs === undefined) return { body: undefined, truncated: true };
  let plain = bytes;
  // Stacked codings are undone last-applied first, each under the same cap.
  for (let i = codecs.length - 1; i >= 0; i--) {
    try {
      plain = decompress(plain, codecs[i] as Codec, options.maxBytes, options.prefix);
    } catch {
      return { body: undefined, truncated: true };
    }
  }
  const start = startsWithBom(plain, 0, plain.length) ? 3 : 0;
  if (options.prefix) {
    return {
      body: skimJsonObject(plain.subarray(start), SKIM_MEMBER_BYTES, { prefix: true }),
      truncated: true,
    };
  }
  if (!options.wholeBody && plain.length - start > SKIM_ABOVE_BYTES) {
    return { body: skimJsonObject(plain.subarray(start), SKIM_MEMBER_BYTES), truncated: false };
  }
  try {
    return { body: JSON.parse(plain.toString('utf8', start)), truncated: false };
  } catch {
    return { body: undefined, truncated: false };
  }
};
