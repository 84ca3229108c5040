/**
 * Decodes a COPY of a response body by its `content-encoding`, incrementally, with a hard cap on decoded
 * bytes. The client always gets the original compressed bytes; this only feeds the parser.
 *
 * - identity: synchronous pass-through, no allocation beyond the cap check.
 * - gzip / x-gzip, deflate (zlib-wrapped or, as some servers send, raw), br, zstd: node:zlib streams. Their
 *   output arrives asynchronously, so `end()` returns a promise that settles once everything was delivered.
 *   Streams are flushed with SYNC_FLUSH semantics at the end, so a body cut short (or a gzip stream without
 *   trailer) still yields what was decodable instead of an error.
 * - A decompression bomb stops at `maxDecodedBytes`: the excess is discarded, the zlib stream destroyed,
 *   and the decoder marked truncated. Output beyond the cap is never handed on.
 * - Stacked encodings (`Content-Encoding: gzip, br`: gzip applied first, then br) are decoded in reverse
 *   order of application, each stage under the same `maxDecodedBytes` cap, so no stage can inflate past it.
 * - Anything else (an unknown coding anywhere in the list): nothing is decoded; `undecodable` is set so the
 *   call is recorded as truncated rather than parsed as garbage — never a guess.
 *
 * Size: the decoder kinds share one interface and one cap; apart, the bomb guard would be spread over files.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { CaptureError } from './errors.ts';

export interface ContentDecoderOptions {
  readonly maxDecodedBytes: number;
  /** Decoded bytes, in order; may be called after `push` returned (compressed encodings). */
  readonly onData: (bytes: Uint8Array) => void;
  /** A decoding failure (corrupt data, unsupported encoding); called at most once. */
  readonly onError: (error: unknown) => void;
}

export interface ContentDecoder {
  push(chunk: Uint8Array): void;
  /** Finishes decoding; a promise when output may still be in flight. Never rejects. */
  end(): undefined | Promise<void>;
  /** Stops decoding now and frees the decompressor (the call's parsing failed); no more output. */
  abort(): void;
  /** True when the cap cut the output, the data was corrupt, or the encoding is not supported. */
  readonly truncated: boolean;
  /** True when the body could not be decoded at all (unsupported encoding) or decoding failed midway. */
  readonly undecodable: boolean;
  readonly decodedBytes: number;
}

type Codec = 'identity' | 'gzip' | 'deflate' | 'br' | 'zstd';

/**
 * The codings of a `content-encoding` header in the order they were applied (identity entries dropped; an
 * empty list means identity), or undefined when one of them cannot be decoded.
 */
export const codecsFor = (header: string | undefined): Exclude<Codec, 'identity'>[] | undefined => {
  if (header === undefined) return [];
  const codecs: Exclude<Codec, 'identity'>[] = [];
  for (const coding of header.split(',')) {
    const codec = codecFor(coding);
    if (codec === undefined) return undefined;
    if (codec !== 'identity') codecs.push(codec);
  }
  return codecs;
};

/** Maps one content coding to a codec, or undefined when we cannot decode it. */
export const codecFor = (header: string | undefined): Codec | undefined => {
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  switch (value) {
    case '':
    case 'identity':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    case 'zstd':
      return typeof zlib.createZstdDecompress === 'function' ? 'zstd' : undefined;
    default:
      return undefined;
  }
};

class IdentityDecoder implements ContentDecoder {
  readonly #max: number;
  readonly #onData: (bytes: Uint8Array) => void;
  #decoded = 0;
  #truncated = false;

  constructor(options: ContentDecoderOptions) {
    this.#max = options.maxDecodedBytes;
    this.#onData = options.onData;
  }

  get truncated(): boolean {
    return this.#truncated;
  }
  get undecodable(): boolean {
    return false;
  }
  get decodedBytes(): number {
    return this.#decoded;
  }

  push(chunk: Uint8Array): void {
    if (this.#truncated) return;
    const room = this.#max - this.#decoded;
    if (chunk.length > room) {
      this.#truncated = true;
      this.#decoded = this.#max;
      if (room > 0) this.#onData(chunk.subarray(0, room));
      return;
    }
    this.#decoded += chunk.length;
    this.#onData(chunk);
  }

  end(): undefined {
    return undefined;
  }

  abort(): void {
    this.#truncated = true;
  }
}

class UndecodableDecoder implements ContentDecoder {
  readonly truncated = true;
  readonly undecodable = true;
  readonly decodedBytes = 0;
  push(_chunk: Uint8Array): void {}
  end(): undefined {
    return undefined;
  }
  abort(): void {}
}

/**
 * Output buffer per decompressor. Node's default (16 KiB) is held for as long as a stream is open; SSE
 * events are far smaller, so 4 KiB keeps an open compressed stream's footprint down at no cost.
 */
const CHUNK_BYTES = 4 * 1024;

const createStream = (codec: Exclude<Codec, 'identity'>, firstBytes: Uint8Array): Transform => {
  switch (codec) {
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK_BYTES, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'deflate': {
      // RFC 9110 says zlib-wrapped; some servers send raw deflate. A zlib header is CM=8 and a multiple of 31.
      const cmf = firstBytes[0] ?? 0;
      const flg = firstBytes[1] ?? 0;
      const wrapped = (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
      const options = { chunkSize: CHUNK_BYTES, finishFlush: zlib.constants.Z_SYNC_FLUSH };
      return wrapped ? zlib.createInflate(options) : zlib.createInflateRaw(options);
    }
    case 'br':
      return zlib.createBrotliDecompress({
        chunkSize: CHUNK_BYTES,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
    case 'zstd':
      return zlib.createZstdDecompress({ chunkSize: CHUNK_BYTES, finishFlush: zlib.constants.ZSTD_e_flush });
  }
};

class ZlibDecoder implements ContentDecoder {
  readonly #codec: Exclude<Codec, 'identity'>;
  readonly #max: number;
  readonly #onData: (bytes: Uint8Array) => void;
  readonly #onError: (error: unknown) => void;
  #stream: Transform | undefined;
  /** Deflate needs two bytes to tell zlib-wrapped from raw; they may come one per chunk. */
  #head: Uint8Array | undefined;
  #decoded = 0;
  #truncated = false;
  #failed = false;
  #aborted = false;
  /** `end()` was called: a late write would only make the stream emit an error. */
  #ending = false;
  #closed: Promise<void> | undefined;

  constructor(codec: Exclude<Codec, 'identity'>, options: ContentDecoderOptions) {
    this.#codec = codec;
    this.#max = options.maxDecodedBytes;
    this.#onData = options.onData;
    this.#onError = options.onError;
  }

  get truncated(): boolean {
    return this.#truncated || this.#failed;
  }
  get undecodable(): boolean {
    return this.#failed;
  }
  get decodedBytes(): number {
    return this.#decoded;
  }

  push(chunk: Uint8Array): void {
    if (this.#truncated || this.#failed || this.#aborted || this.#ending || chunk.length === 0) return;
    if (this.#stream === undefined) {
      if (this.#codec === 'deflate') {
        const head = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
        if (head.length < 2) {
          this.#head = Uint8Array.from(head);
          return;
        }
        this.#head = undefined;
        chunk = head;
      }
      this.#open(chunk);
    }
    this.#stream?.write(chunk);
  }

  end(): undefined | Promise<void> {
    this.#ending = true;
    if (this.#stream === undefined) {
      // A lone deflate byte, or nothing at all: there is nothing decodable.
      this.#head = undefined;
      return undefined;
    }
    const closed = this.#closed;
    if (!this.#stream.destroyed) this.#stream.end();
    return closed;
  }

  abort(): void {
    this.#aborted = true;
    this.#head = undefined;
    this.#stream?.destroy();
  }

  #open(first: Uint8Array): void {
    const stream = createStream(this.#codec, first);
    this.#stream = stream;
    // 'close' follows both a normal end and destroy(), so the promise settles on every path.
    this.#closed = new Promise((resolve) => stream.once('close', resolve));
    stream.on('data', (out: Buffer) => this.#deliver(out));
    stream.on('error', (error: unknown) => {
      if (this.#truncated || this.#failed || this.#aborted) return;
      this.#failed = true;
      this.#report(new CaptureError('CONTENT_DECODING_FAILED', `${this.#codec} decoding failed`, error));
    });
  }

  #deliver(out: Buffer): void {
    if (this.#truncated || this.#failed || this.#aborted) return;
    const room = this.#max - this.#decoded;
    // This runs in a stream event, outside any caller's try/catch: a throw here would crash the process.
    try {
      if (out.length > room) {
        this.#truncated = true;
        this.#decoded = this.#max;
        // Stop inflating right away: a bomb must not burn CPU past the cap either.
        this.#stream?.destroy();
        if (room > 0) this.#onData(out.subarray(0, room));
        return;
      }
      this.#decoded += out.length;
      this.#onData(out);
    } catch (error) {
      this.#failed = true;
      this.#stream?.destroy();
      this.#report(error);
    }
  }

  /** Stream events run outside any caller's try/catch: the error sink must not be able to throw out of one. */
  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // Nothing left to tell.
    }
  }
}

/**
 * Stacked codings: each stage feeds the next (the last coding applied is undone first). Every stage has the
 * whole cap, so the final output is bounded by it and so is each intermediate one.
 */
class StackedDecoder implements ContentDecoder {
  readonly #stages: ContentDecoder[];
  constructor(codecs: readonly Exclude<Codec, 'identity'>[], options: ContentDecoderOptions) {
    const stages: ContentDecoder[] = [];
    let onData = options.onData;
    // Built from the innermost coding (applied first, undone last) outwards.
    for (const codec of codecs) {
      const stage: ContentDecoder = new ZlibDecoder(codec, { ...options, onData });
      stages.unshift(stage);
      onData = (bytes) => stage.push(bytes);
    }
    this.#stages = stages;
  }
  get truncated(): boolean {
    return this.#stages.some((stage) => stage.truncated);
  }
  get undecodable(): boolean {
    return this.#stages.some((stage) => stage.undecodable);
  }
  get decodedBytes(): number {
    return this.#stages.at(-1)?.decodedBytes ?? 0;
  }
  push(chunk: Uint8Array): void {
    this.#stages[0]?.push(chunk);
  }
  async end(): Promise<void> {
    // A stage's last output reaches the next one before its close settles, so each ends after the one before.
    for (const stage of this.#stages) await stage.end();
  }
  abort(): void {
    for (const stage of this.#stages) stage.abort();
  }
}

/**
 * A decoder for the `content-encoding` header value (undefined = identity). Unsupported encodings return an
 * inert decoder marked undecodable, and `onError` is told once so the failure is counted.
 */
export const createContentDecoder = (
  contentEncoding: string | undefined,
  options: ContentDecoderOptions,
): ContentDecoder => {
  const codecs = codecsFor(contentEncoding);
  if (codecs !== undefined && codecs.length > 1) return new StackedDecoder(codecs, options);
  const codec = codecs === undefined ? undefined : (codecs[0] ?? 'identity');
  if (codec === 'identity') return new IdentityDecoder(options);
  if (codec === undefined) {
    options.onError(
      new CaptureError(
        'UNSUPPORTED_CONTENT_ENCODING',
        `cannot decode content-encoding ${String(contentEncoding).slice(0, 40)}`,
      ),
    );
    return new UndecodableDecoder();
  }
  return new ZlibDecoder(codec, options);
};
