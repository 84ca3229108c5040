/**
 * WebSocket messages from a copy of a tunnel's raw bytes, one decoder per direction, using `ws`'s own frame
 * receiver (masking, fragmentation, control frames, permessage-deflate with the parameters the upstream accepted)
 * rather than a parser of our own. `ws` is imported on the first observed socket only.
 *
 * Memory per decoder is bounded: a message (after inflation) over `maxMessageBytes`, more than that many bytes
 * queued behind a slow inflate, or any protocol error makes the decoder give up for good: it reports why once and
 * ignores the rest of the socket. The tunnel itself never depends on the decoder.
 */
import type { Writable } from 'node:stream';
import { CaptureError } from './errors.ts';

export type MessageSink = (data: Buffer, isBinary: boolean) => void;

/** `ws`'s Receiver: a Writable of raw frame bytes that emits `message` (data, isBinary) and `error`. */
type ReceiverLike = Writable;

type Inflated = (error: Error | null, data?: Buffer) => void;

interface PerMessageDeflateLike {
  params: unknown;
  normalizeParams(configurations: unknown[]): Record<string, unknown>[];
  decompress(data: Buffer, fin: boolean, callback: Inflated): void;
  cleanup(): void;
}

interface WsModule {
  Receiver: new (options: Record<string, unknown>) => ReceiverLike;
  PerMessageDeflate: new (options: Record<string, unknown>) => PerMessageDeflateLike;
  extension: { parse(header: string): Record<string, unknown[]> };
}

let loading: Promise<WsModule> | undefined;
let loaded: WsModule | undefined;

/** Imports `ws` once; the first sockets queue their bytes (bounded) until it is there. */
const loadWs = (): Promise<WsModule> => {
  loading ??= import('ws').then((module) => {
    // The ESM entry names Receiver, PerMessageDeflate and extension (its default export is only WebSocket).
    const ws = module as unknown as WsModule;
    loaded = ws;
    return ws;
  });
  return loading;
};

/** Why a decoder stopped (`OVER_CAP`, a `ws` frame error code…), counted as a framing failure of the socket. */
export class GiveUp extends CaptureError {
  override readonly name: string = 'WebSocketObserverGaveUp';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('FRAMING_FAILED', `websocket observer gave up (${reason}): ${message}`);
    this.reason = reason;
  }
}

export interface FrameDecoderOptions {
  /** `true` decodes what the client sends (masked frames); `false` what the server sends. */
  readonly fromClient: boolean;
  /** The upstream's `Sec-WebSocket-Extensions` answer (permessage-deflate parameters), if any. */
  readonly extensions: string | undefined;
  readonly maxMessageBytes: number;
  readonly onMessage: MessageSink;
  /** Called once when the decoder stops observing (over-cap message, invalid frames, internal failure). */
  readonly onGiveUp: (reason: GiveUp) => void;
}

export class FrameDecoder {
  readonly #options: FrameDecoderOptions;
  #receiver: ReceiverLike | undefined;
  #deflate: PerMessageDeflateLike | undefined;
  #queued: Buffer[] | undefined = [];
  #queuedBytes = 0;
  #gaveUp = false;
  /** Decompressions queued or running; `ws` reads its inflate stream again when one finishes. */
  #inflating = 0;
  /** Freed once the last running decompression finished (freeing it earlier crashes in its zlib callback). */
  #cleanupWhenIdle: PerMessageDeflateLike | undefined;

  constructor(options: FrameDecoderOptions) {
    this.#options = options;
    if (loaded !== undefined) this.#start(loaded);
    else
      loadWs().then(
        (ws) => this.#start(ws),
        (error: unknown) => this.#giveUp('WS_UNAVAILABLE', (error as Error).message),
      );
  }

  get active(): boolean {
    return !this.#gaveUp;
  }

  push(chunk: Buffer): void {
    if (this.#gaveUp) return;
    const queue = this.#queued;
    if (queue !== undefined) {
      this.#queuedBytes += chunk.length;
      if (this.#queuedBytes > this.#options.maxMessageBytes) {
        this.#giveUp('OVER_CAP', 'more bytes than one message may hold arrived before the decoder was ready');
        return;
      }
      queue.push(chunk);
      return;
    }
    const receiver = this.#receiver as ReceiverLike;
    // A slow inflate makes the receiver queue writes: past one message's worth the copy is dropped, not held.
    if (receiver.writableLength > this.#options.maxMessageBytes) {
      this.#giveUp('OVER_CAP', 'the decoder fell behind the tunnel by more than one message');
      return;
    }
    receiver.write(chunk);
  }

  /** Frees the decoder's zlib state; nothing is reported. */
  close(): void {
    this.#gaveUp = true;
    this.#dispose();
  }

  #start(ws: WsModule): void {
    if (this.#gaveUp) return;
    const { fromClient, extensions, maxMessageBytes } = this.#options;
    try {
      const negotiated: Record<string, unknown> = {};
      if (extensions !== undefined && extensions !== '') {
        const offers = ws.extension.parse(extensions)['permessage-deflate'];
        if (offers !== undefined && offers.length > 0) {
          const deflate = new ws.PerMessageDeflate({ isServer: fromClient, maxPayload: maxMessageBytes });
          // The upstream's answer is the agreement for both directions; set as `ws` itself would after accepting.
          deflate.params = deflate.normalizeParams(offers.slice(0, 1))[0];
          const decompress = deflate.decompress.bind(deflate);
          deflate.decompress = (data, fin, callback) => {
            this.#inflating += 1;
            decompress(data, fin, (error, inflated) => {
              this.#inflating -= 1;
              try {
                callback(error, inflated);
              } finally {
                const idle = this.#inflating === 0 ? this.#cleanupWhenIdle : undefined;
                this.#cleanupWhenIdle = undefined;
                idle?.cleanup();
              }
            });
          };
          negotiated['permessage-deflate'] = deflate;
          this.#deflate = deflate;
        }
      }
      const receiver = new ws.Receiver({
        isServer: fromClient,
        extensions: negotiated,
        maxPayload: maxMessageBytes,
        binaryType: 'nodebuffer',
        skipUTF8Validation: true,
      });
      receiver.on('message', (data: Buffer, isBinary: boolean): void => {
        if (!this.#gaveUp) this.#options.onMessage(data, isBinary);
      });
      receiver.on('error', (error: Error) => {
        const code = (error as { code?: string }).code ?? 'INVALID_FRAME';
        this.#giveUp(code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'OVER_CAP' : code, error.message);
      });
      this.#receiver = receiver;
      const queued = this.#queued ?? [];
      this.#queued = undefined;
      for (const chunk of queued) receiver.write(chunk);
    } catch (error) {
      this.#giveUp('DECODER_FAILED', (error as Error).message);
    }
  }

  #giveUp(code: string, message: string): void {
    if (this.#gaveUp) return;
    this.#gaveUp = true;
    this.#dispose();
    this.#options.onGiveUp(new GiveUp(code, message));
  }

  #dispose(): void {
    this.#queued = undefined;
    const receiver = this.#receiver;
    this.#receiver = undefined;
    if (receiver !== undefined) {
      receiver.removeAllListeners('message');
      receiver.on('error', () => {});
      receiver.destroy();
    }
    // ws's inflate callback reads its zlib stream after the flush: freeing the stream while a decompression is
    // in flight (the socket closed, or the other direction gave up, right after a compressed message) would be a
    // TypeError in a zlib callback, i.e. an uncaught exception. So it waits for the last one.
    const deflate = this.#deflate;
    this.#deflate = undefined;
    if (deflate !== undefined) {
      if (this.#inflating === 0) deflate.cleanup();
      else this.#cleanupWhenIdle = deflate;
    }
  }
}
